"""Rolling OLS: agreement with lstsq and statsmodels on a window, and no look-ahead."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexcalc.families.copper.regression import rolling_coefficients, rolling_forecast


def random_panel(rows: int, factors: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    regressors = rng.normal(0.0, [0.005, 0.8, 0.02][:factors], size=(rows, factors))
    target = 0.0002 - 0.7 * regressors[:, 0] + rng.normal(0.0, 0.012, rows)
    return target, regressors


def test_exact_line_is_recovered_by_hand():
    # y = 1 + 2x on every row; window 3: rows 0..2 give alpha 1, beta 2 at t = 3, and the
    # forecast of t = 3 is 1 + 2 * x_3 = 1 + 2 * 10 = 21 (x_3 itself is not used to estimate).
    x = np.array([0.0, 1.0, 3.0, 10.0, -1.0])
    y = 1.0 + 2.0 * x
    coefficients, observations = rolling_coefficients(y, x, window=3, min_observations=3)
    assert observations.tolist() == [0, 1, 2, 3, 3]
    assert np.isnan(coefficients[:3]).all()
    assert coefficients[3] == pytest.approx([1.0, 2.0])
    assert coefficients[4] == pytest.approx([1.0, 2.0])
    frame = pl.DataFrame({"date": [dt.date(2024, 1, day) for day in range(1, 6)], "y": y, "x": x})
    forecast = rolling_forecast(frame, "y", ["x"], window=3, min_observations=3)
    assert forecast.get_column("forecast").to_list()[3:] == pytest.approx([21.0, -1.0])
    assert forecast.get_column("forecast").to_list()[:3] == [None, None, None]


@pytest.mark.parametrize("t", [60, 61, 137, 299])
def test_matches_lstsq_on_the_window_before_t(t):
    target, regressors = random_panel(300)
    window = 60
    coefficients, observations = rolling_coefficients(target, regressors, window, window)
    rows = slice(t - window, t)
    design = np.column_stack([np.ones(window), regressors[rows]])
    oracle, *_ = np.linalg.lstsq(design, target[rows], rcond=None)
    assert observations[t] == window
    np.testing.assert_allclose(coefficients[t], oracle, rtol=1e-9, atol=1e-12)


def test_matches_statsmodels_ols_with_missing_rows_left_out():
    sm = pytest.importorskip("statsmodels.api")
    target, regressors = random_panel(400, seed=3)
    target[[10, 250, 251]] = np.nan
    regressors[[20, 260], 1] = np.nan
    window, t = 100, 300
    coefficients, observations = rolling_coefficients(target, regressors, window, 90)
    rows = np.arange(t - window, t)
    complete = np.isfinite(target[rows]) & np.isfinite(regressors[rows]).all(axis=1)
    fit = sm.OLS(target[rows][complete], sm.add_constant(regressors[rows][complete])).fit()
    assert observations[t] == complete.sum() == 97
    np.testing.assert_allclose(coefficients[t], fit.params, rtol=1e-9, atol=1e-12)


def test_long_history_keeps_precision_of_cumulative_sums():
    # 8,000 days with a level-like factor: differences of long prefix sums must still match lstsq.
    target, regressors = random_panel(8000, seed=5)
    regressors[:, 1] += 50.0
    coefficients, _ = rolling_coefficients(target, regressors, 504, 504)
    for t in (504, 4000, 7999):
        design = np.column_stack([np.ones(504), regressors[t - 504 : t]])
        oracle, *_ = np.linalg.lstsq(design, target[t - 504 : t], rcond=None)
        np.testing.assert_allclose(coefficients[t], oracle, rtol=1e-7, atol=1e-9)


def test_too_few_rows_or_a_singular_window_gives_no_estimate():
    target, regressors = random_panel(50)
    coefficients, _ = rolling_coefficients(target, regressors, window=20, min_observations=20)
    assert np.isnan(coefficients[:20]).all() and np.isfinite(coefficients[20:]).all()
    regressors[:, 2] = 0.0  # a factor that never moves: X'X is singular
    singular, _ = rolling_coefficients(target, regressors, window=20, min_observations=20)
    assert np.isnan(singular).all()


@settings(max_examples=30, deadline=None)
@given(cut=st.integers(0, 199), seed=st.integers(0, 1000), shift=st.floats(-1.0, 1.0).filter(lambda v: abs(v) > 1e-3))
def test_perturbing_day_t_and_later_leaves_coefficients_up_to_t_unchanged(cut, seed, shift):
    """No look-ahead: the coefficients of t use rows < t, so changing rows >= t (targets and
    factors) changes no coefficient up to and including t, and no forecast before t."""
    target, regressors = random_panel(200, seed=seed)
    dates = [dt.date(2020, 1, 1) + dt.timedelta(days=day) for day in range(200)]
    frame = pl.DataFrame({"date": dates, "y": target, **{f"f{k}": regressors[:, k] for k in range(3)}})
    perturbed = frame.with_columns(
        pl.when(pl.int_range(pl.len()) >= cut).then(pl.col(name) + shift).otherwise(pl.col(name)).alias(name)
        for name in ["y", "f0", "f1", "f2"]
    )
    names = ["f0", "f1", "f2"]
    before = rolling_forecast(frame, "y", names, 40, 40)
    after = rolling_forecast(perturbed, "y", names, 40, 40)
    coefficient_columns = ["alpha", "beta_f0", "beta_f1", "beta_f2"]
    assert before.slice(0, cut + 1).select(coefficient_columns).equals(after.slice(0, cut + 1).select(coefficient_columns))
    assert before.slice(0, cut).equals(after.slice(0, cut))
    if 40 <= cut < 199:  # the perturbation is visible where it can be: coefficients after t move
        assert not before.slice(cut + 1).select(coefficient_columns).equals(after.slice(cut + 1).select(coefficient_columns))
