"""ATR from settles, risk sizing, carry multiplier and regime filters (issue 8, steps 3-5)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexcalc.families.copper.sizing import (
    average_true_range,
    carry_multiplier,
    carry_spread,
    contracts_for_risk,
    regime_blocked,
    true_range,
)

HG_MULTIPLIER = 25_000.0  # USD per (USD/lb) per contract: 25,000 lb
THRESHOLDS = (0.0025, 0.01)
MULTIPLIERS = (1.0, 0.5, 0.25)


def test_issue_sizing_example_by_hand():
    # equity 1,000,000 -> risk 0.01 * 1,000,000 = 10,000 USD
    # ATR 0.05 USD/lb -> stop distance 1.5 * 0.05 = 0.075 USD/lb
    # dollar risk per contract 0.075 * 25,000 lb = 1,875 USD
    # base contracts floor(10,000 / 1,875) = floor(5.333) = 5
    # carry multiplier 0.5 -> floor(5 * 0.5) = floor(2.5) = 2; multiplier 1 -> 5
    sized = contracts_for_risk(
        [1_000_000.0, 1_000_000.0], 0.05, risk_budget=0.01, stop_multiple=1.5, multiplier=HG_MULTIPLIER,
        carry_multiplier=[0.5, 1.0],
    )
    assert sized.tolist() == [2, 5]


def test_exact_integer_ratio_is_not_lost_to_rounding():
    # risk 0.01 * 750,000 = 7,500; dollar risk 1.5 * 0.1 * 25,000 = 3,750 -> exactly 2 contracts,
    # although 1.5 * 0.1 = 0.15000000000000002 in floating point makes the ratio 1.9999999999999998.
    assert 0.01 * 750_000.0 / (1.5 * 0.1 * HG_MULTIPLIER) < 2.0
    assert contracts_for_risk(750_000.0, 0.1, risk_budget=0.01, stop_multiple=1.5, multiplier=HG_MULTIPLIER).item() == 2


def test_no_contracts_without_a_usable_atr_or_with_a_zero_multiplier():
    sized = contracts_for_risk(
        1_000_000.0, [math.nan, 0.0, 0.05, 0.05], risk_budget=0.01, stop_multiple=1.5, multiplier=HG_MULTIPLIER,
        carry_multiplier=[1.0, 1.0, 0.0, math.nan],
    )
    assert sized.tolist() == [0, 0, 0, 0]


def test_true_range_is_the_absolute_settle_change():
    assert true_range([4.10, 3.95], [4.00, 4.00]).tolist() == pytest.approx([0.10, 0.05])


def test_simple_and_wilder_atr_by_hand():
    ranges = np.array([np.nan, 1.0, 2.0, 3.0, 4.0])
    # simple, n = 2: (1+2)/2 = 1.5, (2+3)/2 = 2.5, (3+4)/2 = 3.5
    simple = average_true_range(ranges, 2, "simple")
    assert np.isnan(simple[:2]).all() and simple[2:].tolist() == pytest.approx([1.5, 2.5, 3.5])
    # wilder, n = 2: seed 1.5; 1.5 + (3 - 1.5)/2 = 2.25; 2.25 + (4 - 2.25)/2 = 3.125
    wilder = average_true_range(ranges, 2, "wilder")
    assert np.isnan(wilder[:2]).all() and wilder[2:].tolist() == pytest.approx([1.5, 2.25, 3.125])


@settings(max_examples=50, deadline=None)
@given(
    ranges=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=60),
    window=st.integers(1, 20),
    leading=st.integers(0, 3),
)
def test_atr_equals_the_plain_definitions(ranges, window, leading):
    values = np.array([np.nan] * leading + ranges)
    simple = average_true_range(values, window, "simple")
    wilder = average_true_range(values, window, "wilder")
    expected_simple = [
        np.mean(values[end - window + 1 : end + 1]) if end - window + 1 >= leading else np.nan for end in range(values.size)
    ]
    np.testing.assert_allclose(simple, expected_simple, rtol=1e-12, atol=1e-12)
    expected_wilder = np.full(values.size, np.nan)
    seed_end = leading + window - 1
    if seed_end < values.size:
        expected_wilder[seed_end] = np.mean(values[leading : seed_end + 1])
        for day in range(seed_end + 1, values.size):
            expected_wilder[day] = expected_wilder[day - 1] + (values[day] - expected_wilder[day - 1]) / window
    np.testing.assert_allclose(wilder, expected_wilder, rtol=1e-10, atol=1e-12)


def test_carry_spread_is_next_minus_held_over_held():
    # (4.04 - 4.00) / 4.00 = 0.01 (contango); (3.96 - 4.00) / 4.00 = -0.01 (backwardation)
    assert carry_spread([4.0, 4.0], [4.04, 3.96]).tolist() == pytest.approx([0.01, -0.01])


@pytest.mark.parametrize(
    ("direction", "spread", "expected"),
    [
        (1, 0.001, 1.0),  # long, mild contango 0.1% <= 0.25%: full size
        (1, 0.0025, 1.0),  # exactly on the breakpoint: not above it
        (1, 0.005, 0.5),  # long, contango 0.5%: second band
        (1, 0.02, 0.25),  # long, steep contango 2%: third band
        (1, -0.02, 1.0),  # long in backwardation: carry helps
        (-1, -0.005, 0.5),  # short in backwardation 0.5%: adverse
        (-1, 0.02, 1.0),  # short in contango: carry helps
        (0, 0.02, 1.0),  # no position: nothing to scale
    ],
)
def test_carry_multiplier_reduces_size_only_when_carry_is_adverse(direction, spread, expected):
    assert carry_multiplier(direction, spread, THRESHOLDS, MULTIPLIERS).item() == expected


def test_unknown_carry_gives_no_multiplier():
    assert math.isnan(carry_multiplier(1, math.nan, THRESHOLDS, MULTIPLIERS).item())


def test_regime_filters_block_spread_and_volatility_shocks():
    front = np.array([4.00, 4.40, 4.00, 4.00])
    second = np.array([4.02, 4.00, 4.00, 4.00])
    short_atr = np.array([0.05, 0.05, 0.20, np.nan])
    long_atr = np.array([0.05, 0.05, 0.05, 0.05])
    # |ln(4.00/4.02)| = 0.005 < 0.05; |ln(4.40/4.00)| = 0.0953 > 0.05 -> blocked
    # short ATR 0.20 > 3 * 0.05 = 0.15 -> blocked; an unknown ATR does not block
    both = regime_blocked(front, second, short_atr, long_atr, spread_max=0.05, volatility_ratio_max=3.0)
    assert both.tolist() == [False, True, True, False]
    off = regime_blocked(front, second, short_atr, long_atr, spread_max=None, volatility_ratio_max=None)
    assert not off.any()
