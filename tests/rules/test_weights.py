"""Basket weights, the Ledoit-Wolf covariance, the optimisers, the drift trigger and the momentum
tilt (indexcalc.rules.weights, indexcalc.rules.optimised_weights, indexcalc.families.basemetals.momentum_tilt)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.covariance import LedoitWolf

from indexcalc.errors import DataError
from indexcalc.families.basemetals.momentum_tilt import apply_tilt, momentum_scores
from indexcalc.rules.optimised_weights import (
    FREE,
    LOWER,
    UPPER,
    bound_states,
    highest_return_weights,
    maximum_sharpe_weights,
    minimum_variance_weights,
    neighbour_states,
)
from indexcalc.rules.weights import (
    Rebalance,
    drifted_weights,
    equal_weights,
    inverse_volatility,
    inverse_volatility_weights,
    ledoit_wolf_covariance,
    rebalance_with_drift,
    scale_to_bounds,
    trailing_volatility,
)

# --- inverse volatility -----------------------------------------------------------------------


def test_inverse_volatility_reproduces_the_worked_example():
    # Cu 15%, Al 12%, Zn 16%, Pb 14%, Ni 28%: inverse vols 6.67, 8.33, 6.25, 7.14, 3.57
    # (sum 31.96), weights 20.9%, 26.1%, 19.6%, 22.3%, 11.2%.
    weights = inverse_volatility_weights(np.array([0.15, 0.12, 0.16, 0.14, 0.28]))
    assert np.round(weights * 100, 1).tolist() == [20.9, 26.1, 19.6, 22.3, 11.2]
    assert weights.sum() == pytest.approx(1.0, abs=1e-15)
    assert weights[0] == pytest.approx((1 / 0.15) / (1 / 0.15 + 1 / 0.12 + 1 / 0.16 + 1 / 0.14 + 1 / 0.28), rel=1e-15)


def test_inverse_volatility_frame_normalises_per_date():
    frame = pl.DataFrame(
        {
            "date": [dt.date(2024, 1, 31)] * 5 + [dt.date(2024, 2, 29)] * 2,
            "root": ["HG", "LA", "LX", "LL", "LN", "HG", "LA"],
            "volatility": [0.15, 0.12, 0.16, 0.14, 0.28, 0.10, 0.30],
        }
    )
    result = inverse_volatility(frame)
    first = result.filter(pl.col("date") == dt.date(2024, 1, 31)).get_column("weight").round(3).to_list()
    assert first == [0.209, 0.261, 0.196, 0.223, 0.112]
    # 1/0.1 = 10, 1/0.3 = 3.33: weights 0.75 and 0.25
    second = result.filter(pl.col("date") == dt.date(2024, 2, 29)).get_column("weight").to_list()
    assert second == pytest.approx([0.75, 0.25], abs=1e-15)


def test_inverse_volatility_of_a_flat_price_is_a_data_error_naming_root_and_date():
    frame = pl.DataFrame(
        {"date": [dt.date(2024, 1, 31)] * 2, "root": ["HG", "LN"], "volatility": [0.2, 0.0]}
    )
    with pytest.raises(DataError, match=r"LN 2024-01-31.*positive volatility"):
        inverse_volatility(frame)


def test_trailing_volatility_is_annualised_sample_std():
    # returns 1%, -1%, 2%: mean 0.6667%, squared deviations 1.111e-5, 2.778e-4, 1.778e-4,
    # sum 4.667e-4 / 2 = 2.333e-4, std 1.5275%, x sqrt(252) = 24.249%
    returns = np.array([[np.nan], [0.01], [-0.01], [0.02]])
    vol = trailing_volatility(returns, np.array([3]), 3, 252)
    assert vol[0, 0] == pytest.approx(0.242487, abs=1e-6)


def test_equal_weights():
    assert equal_weights(4).tolist() == [0.25] * 4


# --- Ledoit-Wolf ------------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(
    days=st.integers(min_value=8, max_value=300),
    count=st.integers(min_value=2, max_value=7),
    seed=st.integers(min_value=0, max_value=10_000),
)
def test_ledoit_wolf_matches_scikit_learn(days, count, seed):
    rng = np.random.default_rng(seed)
    mixing = rng.standard_normal((count, count))
    returns = rng.standard_normal((days, count)) @ mixing * 0.01 + 0.001
    covariance, shrinkage = ledoit_wolf_covariance(returns)
    oracle = LedoitWolf().fit(returns)
    assert shrinkage == pytest.approx(oracle.shrinkage_, abs=1e-10)
    np.testing.assert_allclose(covariance, oracle.covariance_, rtol=1e-9, atol=1e-15)


def test_ledoit_wolf_is_batched_over_windows():
    rng = np.random.default_rng(3)
    windows = rng.standard_normal((4, 60, 5)) * 0.02
    batched, shrinkage = ledoit_wolf_covariance(windows)
    for position in range(4):
        single, single_shrinkage = ledoit_wolf_covariance(windows[position])
        np.testing.assert_allclose(batched[position], single, rtol=1e-12)
        assert shrinkage[position] == pytest.approx(single_shrinkage, rel=1e-12)


def test_ledoit_wolf_shrinks_towards_mean_variance_identity():
    # S* = (1 - s) S + s m I: the trace is preserved and the off-diagonal shrinks by (1 - s)
    rng = np.random.default_rng(5)
    returns = rng.standard_normal((40, 3)) @ np.array([[1.0, 0.5, 0.2], [0.0, 1.0, 0.3], [0.0, 0.0, 1.0]])
    shrunk, shrinkage = ledoit_wolf_covariance(returns)
    sample = np.cov(returns, rowvar=False, ddof=0)
    assert 0.0 < shrinkage < 1.0
    assert np.trace(shrunk) == pytest.approx(np.trace(sample), rel=1e-12)
    assert shrunk[0, 1] == pytest.approx((1 - shrinkage) * sample[0, 1], rel=1e-12)


# --- optimisers -------------------------------------------------------------------------------


def test_minimum_variance_two_uncorrelated_roots_hand_computed():
    # sigma 10% and 20%, rho 0: w1 = s2^2 / (s1^2 + s2^2) = 0.04 / 0.05 = 0.8
    covariance = np.diag([0.01, 0.04])
    assert minimum_variance_weights(covariance, 0.0, 1.0) == pytest.approx([0.8, 0.2], abs=1e-7)
    # with a 70% cap the bound binds: (0.7, 0.3)
    assert minimum_variance_weights(covariance, 0.0, 0.7) == pytest.approx([0.7, 0.3], abs=1e-9)


def test_minimum_variance_matches_closed_form_when_bounds_do_not_bind():
    rng = np.random.default_rng(11)
    returns = rng.standard_normal((500, 4)) * np.array([0.010, 0.012, 0.015, 0.011])
    covariance = np.cov(returns, rowvar=False)
    inverse_ones = np.linalg.solve(covariance, np.ones(4))
    closed_form = inverse_ones / inverse_ones.sum()
    assert closed_form.min() > 0.05 and closed_form.max() < 0.6
    np.testing.assert_allclose(minimum_variance_weights(covariance, 0.0, 1.0), closed_form, atol=1e-6)


def test_maximum_sharpe_two_uncorrelated_roots_hand_computed():
    # S = diag(0.01, 0.04), mu = (0.05, 0.10): S^-1 mu = (5, 2.5), normalised (2/3, 1/3)
    weights = maximum_sharpe_weights(np.diag([0.01, 0.04]), np.array([0.05, 0.10]), 0.0, 1.0)
    assert weights == pytest.approx([2 / 3, 1 / 3], abs=1e-6)
    # a 60% cap binds: (0.6, 0.4)
    capped = maximum_sharpe_weights(np.diag([0.01, 0.04]), np.array([0.05, 0.10]), 0.0, 0.6)
    assert capped == pytest.approx([0.6, 0.4], abs=1e-9)


def _random_problem(seed: int, count: int):
    rng = np.random.default_rng(seed)
    factor = rng.standard_normal((count, count))
    covariance = factor @ factor.T / count + np.diag(rng.uniform(0.1, 1.0, count))
    expected = rng.normal(0.02, 0.05, count)
    return rng, covariance * 1e-4, expected * 1e-3


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=10_000),
    count=st.integers(min_value=2, max_value=6),
    lower=st.floats(min_value=0.0, max_value=1.0),
    upper=st.floats(min_value=0.0, max_value=1.0),
)
def test_optimiser_weights_respect_bounds_and_beat_random_feasible_weights(seed, count, lower, upper):
    min_weight = lower / count  # <= 1/n
    max_weight = 1.0 / count + upper * (1.0 - 1.0 / count)  # >= 1/n
    rng, covariance, expected = _random_problem(seed, count)
    candidates = np.stack(
        [scale_to_bounds(row, min_weight, max_weight) for row in rng.dirichlet(np.ones(count), 200)]
    )
    for weights in (
        minimum_variance_weights(covariance, min_weight, max_weight),
        maximum_sharpe_weights(covariance, expected, min_weight, max_weight),
    ):
        assert weights.sum() == pytest.approx(1.0, abs=1e-12)
        assert weights.min() >= min_weight - 1e-12
        assert weights.max() <= max_weight + 1e-12
    minimum = minimum_variance_weights(covariance, min_weight, max_weight)
    variances = np.einsum("ki,ij,kj->k", candidates, covariance, candidates)
    assert minimum @ covariance @ minimum <= variances.min() * (1 + 1e-7)
    best = maximum_sharpe_weights(covariance, expected, min_weight, max_weight)
    if highest_return_weights(expected, min_weight, max_weight) @ expected > 0:
        sharpe = candidates @ expected / np.sqrt(variances)
        assert best @ expected / np.sqrt(best @ covariance @ best) >= sharpe.max() - 1e-7 * abs(sharpe.max())
    else:
        np.testing.assert_allclose(best, minimum, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(min_value=0, max_value=10_000), count=st.integers(min_value=3, max_value=6))
def test_optimiser_weights_satisfy_kkt_conditions_whatever_the_start(seed, count):
    # Optimality written out: with g the gradient of the objective (to minimise), the free
    # weights share one value c of g, weights on the floor have g >= c, on the cap g <= c.
    min_weight, max_weight = 0.5 / count, 2.0 / count
    rng, covariance, expected = _random_problem(seed, count)
    expected = np.abs(expected)  # some portfolio with a positive expected return

    def check(weights, gradient, scale):
        lower = weights <= min_weight + 1e-9
        upper = weights >= max_weight - 1e-9
        free = ~lower & ~upper
        level = gradient[free].mean() if free.any() else None
        if level is not None:
            assert np.ptp(gradient[free]) <= 1e-8 * scale
            assert np.all(gradient[lower] >= level - 1e-8 * scale)
            assert np.all(gradient[upper] <= level + 1e-8 * scale)

    other_start = scale_to_bounds(rng.dirichlet(np.ones(count)), min_weight, max_weight)
    minimum = minimum_variance_weights(covariance, min_weight, max_weight)
    check(minimum, 2 * covariance @ minimum, np.abs(covariance).max())
    np.testing.assert_allclose(
        minimum_variance_weights(covariance, min_weight, max_weight, start=other_start), minimum, atol=1e-12
    )
    best = maximum_sharpe_weights(covariance, expected, min_weight, max_weight)
    variance = best @ covariance @ best
    check(best, -(expected - (best @ expected) / variance * covariance @ best), np.abs(expected).max())
    np.testing.assert_allclose(
        maximum_sharpe_weights(covariance, expected, min_weight, max_weight, start=other_start), best, atol=1e-12
    )


def test_neighbour_states_are_the_active_sets_one_then_two_roots_away():
    states = np.array([FREE, LOWER, UPPER, FREE])
    near, far = neighbour_states(states)
    assert near.shape == (9, 4) and far.shape == (24, 4)  # 1 + 2n, then 4 * n(n-1)/2
    assert (near[0] == states).all()
    assert ((near[1:] != states).sum(axis=1) == 1).all()
    assert ((far != states).sum(axis=1) == 2).all()
    assert len({tuple(row) for row in np.vstack([near, far])}) == 33


def test_bound_states_read_the_active_set():
    assert bound_states(np.array([0.05, 0.4, 0.2, 0.35]), 0.05, 0.4).tolist() == [LOWER, UPPER, FREE, FREE]


def test_highest_return_weights_fill_the_best_roots_up_to_the_cap():
    # floor 0.1 each (0.3), the remaining 0.7 to mu order (B, C, A) up to 0.5: B +0.4, C +0.3
    weights = highest_return_weights(np.array([0.01, 0.05, 0.03]), 0.1, 0.5)
    assert weights == pytest.approx([0.1, 0.5, 0.4], abs=1e-15)


def test_maximum_sharpe_without_any_positive_return_falls_back_to_minimum_variance():
    covariance = np.diag([0.01, 0.04])
    weights = maximum_sharpe_weights(covariance, np.array([-0.01, -0.02]), 0.0, 1.0)
    assert weights == pytest.approx([0.8, 0.2], abs=1e-7)


def test_optimiser_on_a_covariance_with_missing_values_is_a_data_error():
    with pytest.raises(DataError, match="minimum variance: covariance has missing"):
        minimum_variance_weights(np.array([[np.nan, 0.0], [0.0, 1.0]]), 0.0, 1.0)


def test_scale_to_bounds_shares_the_excess_in_proportion():
    # clip(c v) with v = (0.5, 0.3, 0.1, 0.1), cap 0.4: 0.4 + 0.5 c = 1 -> c = 1.2,
    # weights (0.4, 0.36, 0.12, 0.12)
    weights = scale_to_bounds(np.array([0.5, 0.3, 0.1, 0.1]), 0.05, 0.4)
    assert weights == pytest.approx([0.4, 0.36, 0.12, 0.12], abs=1e-15)
    # a floor: v = (0.7, 0.28, 0.02), floor 0.1 -> 0.1 + 0.98 c = 1 -> c = 0.918367
    floored = scale_to_bounds(np.array([0.7, 0.28, 0.02]), 0.1, 1.0)
    assert floored == pytest.approx([0.7 * 0.9 / 0.98, 0.28 * 0.9 / 0.98, 0.1], abs=1e-15)
    # a zero weight with no floor stays 0: (0.6, 0.4, 0) under a 0.5 cap -> 0.5 + 0.4 c = 1
    assert scale_to_bounds(np.array([0.6, 0.4, 0.0]), 0.0, 0.5) == pytest.approx([0.5, 0.5, 0.0], abs=1e-15)


# --- drift trigger ----------------------------------------------------------------------------


def _rising_path(days: int, start_rising: int) -> np.ndarray:
    """Root A flat until ``start_rising`` then +10% a day; root B flat at 100."""
    growth = np.where(np.arange(days) >= start_rising, 1.1, 1.0)
    return np.column_stack([100.0 * np.cumprod(growth), np.full(days, 100.0)])


def test_drift_trigger_fires_on_the_exact_day_and_restarts_from_the_new_anchor():
    # Target (0.5, 0.5), threshold 15% relative: fires when w_A > 0.575, i.e. A/A_a > 1.3529.
    # Anchor (effective) day 1; A grows 10% a day from day 2: ratio 1.1, 1.21, 1.331 (w_A
    # 0.5710, no), 1.4641 (w_A 0.5942) on day 5 -> drift fixed at day 5, effective day 6.
    # From anchor 6 the same four steps -> fixed at day 10, effective 11. The next scheduled
    # fixing is day 12, so the search stops there.
    levels = _rising_path(14, start_rising=2)
    target = np.array([0.5, 0.5])
    scheduled = [Rebalance(0, 1, target, "monthly"), Rebalance(12, 13, target, "monthly")]
    events = rebalance_with_drift(levels, scheduled, threshold=0.15, lag=1)
    assert [(event.fixing, event.effective, event.reason) for event in events] == [
        (0, 1, "monthly"),
        (5, 6, "drift"),
        (10, 11, "drift"),
        (12, 13, "monthly"),
    ]
    assert events[1].drifted == pytest.approx([1.4641 / 2.4641, 1 / 2.4641], abs=1e-12)
    # at day 12 the basket has drifted one step (1.1) from the anchor of day 11
    assert events[3].drifted == pytest.approx([1.1 / 2.1, 1 / 2.1], abs=1e-12)
    assert events[0].drifted is None


def test_drift_threshold_is_relative_to_the_target_weight():
    # Target (0.2, 0.8): fires when |w_A - 0.2| > 0.03, i.e. 0.2x / (0.2x + 0.8) > 0.23,
    # x > 1.19481: ratio 1.1 (w_A 0.2157, no), 1.21 (w_A 0.2322, yes) on day 3 (anchor day 1,
    # rising from day 2). An absolute 15-point band would not fire at all here.
    levels = _rising_path(6, start_rising=2)
    scheduled = [Rebalance(0, 1, np.array([0.2, 0.8]), "monthly")]
    events = rebalance_with_drift(levels, scheduled, threshold=0.15, lag=1)
    assert [(event.fixing, event.reason) for event in events] == [(0, "monthly"), (3, "drift")]


def test_no_drift_rebalance_without_threshold_or_beyond_the_axis():
    levels = _rising_path(14, start_rising=2)
    scheduled = [Rebalance(0, 1, np.array([0.5, 0.5]), "monthly")]
    assert len(rebalance_with_drift(levels, scheduled, threshold=None, lag=1)) == 1
    # breach on day 5 but with lag 9 its effective day 14 is not on the 14-day axis
    assert len(rebalance_with_drift(levels, scheduled, threshold=0.15, lag=9)) == 1


def _reference_drift(levels, scheduled, threshold, lag):
    """Day-by-day walk, the definition written as plainly as possible."""
    events = []
    days = len(levels)
    for position, rebalance in enumerate(scheduled):
        events.append((rebalance.fixing, rebalance.effective, "scheduled"))
        stop = scheduled[position + 1].fixing if position + 1 < len(scheduled) else days
        anchor = rebalance.effective
        day = anchor + 1
        while day < stop:
            held = rebalance.weights * levels[day] / levels[anchor]
            weights = held / held.sum()
            if np.any(np.abs(weights - rebalance.weights) > threshold * rebalance.weights):
                if day + lag >= days:
                    break
                events.append((day, day + lag, "drift"))
                anchor = day + lag
                day = anchor + 1
                continue
            day += 1
    return events


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=10_000),
    lag=st.integers(min_value=0, max_value=3),
    threshold=st.floats(min_value=0.02, max_value=0.3),
)
def test_vectorised_drift_matches_a_day_by_day_walk(seed, lag, threshold):
    rng = np.random.default_rng(seed)
    days, count = 160, 3
    levels = 100 * np.cumprod(1 + rng.normal(0, 0.02, (days, count)), axis=0)
    fixings = list(range(5, days - lag, 21))
    scheduled = [Rebalance(fix, fix + lag, rng.dirichlet(np.ones(count)), "monthly") for fix in fixings]
    events = rebalance_with_drift(levels, scheduled, threshold, lag)
    got = [(event.fixing, event.effective, "drift" if event.reason == "drift" else "scheduled") for event in events]
    assert got == _reference_drift(levels, scheduled, threshold, lag)
    for position, event in enumerate(events[1:], start=1):
        # the positions held at the close of the fixing date: the last earlier rebalance in effect
        previous = [e for e in events[:position] if e.effective <= event.fixing][-1]
        expected = drifted_weights(levels[event.fixing], levels[previous.effective], previous.weights)
        np.testing.assert_allclose(event.drifted, expected, rtol=1e-12)


# --- momentum tilt ----------------------------------------------------------------------------


def test_momentum_scores_hand_computed():
    # Root A levels 100, 101, 103, 102; ema span 3 (a = 0.5), rsi window 3, roc window 2.
    # EMA: 100, 100.5, 101.75, 101.875 -> level above on days 2-4: +1.
    # changes +1, +2, -1; Wilder a = 1/3 seeded with the first change:
    # G = 1, 4/3, 8/9; D = 0, 0, 1/3 -> RSI day 4 = 100 * (8/9) / (8/9 + 1/3) = 72.727
    # ROC day 4 = 102 / 101 - 1 = 0.990% > 0 -> +1.
    # score = (1 + (72.727 - 50) / 50 + 1) / 3 = (1 + 0.454545 + 1) / 3 = 0.818182
    days = [dt.date(2024, 1, day) for day in (1, 2, 3, 4)]
    levels = pl.DataFrame({"date": days, "root": ["A"] * 4, "level": [100.0, 101.0, 103.0, 102.0]})
    scores = momentum_scores(levels, ema_span=3, rsi_window=3, roc_window=2)
    last = scores.row(-1, named=True)
    assert last["ema_signal"] == 1.0
    assert last["rsi"] == pytest.approx(800 / 11, abs=1e-12)
    assert last["roc"] == pytest.approx(102 / 101 - 1, abs=1e-15)
    assert last["momentum"] == pytest.approx((1 + (800 / 11 - 50) / 50 + 1) / 3, abs=1e-12)
    assert scores.get_column("momentum").null_count() == 2  # no ROC on the first two days


def test_apply_tilt_hand_computed():
    # w (0.6, 0.4), s (1, 0), 20%: (0.72, 0.4) / 1.12 = (0.642857, 0.357143)
    assert apply_tilt(np.array([0.6, 0.4]), np.array([1.0, 0.0]), 0.2) == pytest.approx(
        [0.72 / 1.12, 0.4 / 1.12], abs=1e-15
    )
    # symmetric scores on equal weights: (0.55, 0.45)
    assert apply_tilt(np.array([0.5, 0.5]), np.array([1.0, -1.0]), 0.1) == pytest.approx([0.55, 0.45], abs=1e-15)
