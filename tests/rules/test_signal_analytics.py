"""Signal analytics (docs/design.md section 4): forward correlations with p-values, accuracy, balanced
accuracy and the share of years with balanced accuracy above 50%, by hand and by invariants."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from indexcalc.families.carry.signal_analytics import ANALYTICS_SCHEMA, forward_correlations, sign_accuracy, signal_analytics


def test_accuracy_and_balanced_accuracy_by_hand():
    # outcomes: 4 up, 2 down. Predictions: ups hit 3 of 4, downs hit 1 of 2.
    signal = np.array([1.0, 2.0, 0.5, -1.0, -0.3, 0.7])
    target = np.array([0.1, 0.2, 0.3, 0.4, -0.1, -0.2])
    got = sign_accuracy(signal, target)
    assert got["accuracy"] == pytest.approx(4 / 6)
    assert got["balanced_accuracy"] == pytest.approx((3 / 4 + 1 / 2) / 2)


def test_an_always_long_signal_has_balanced_accuracy_one_half_whatever_the_up_share():
    target = np.array([0.1, 0.2, 0.3, 0.4, 0.5, -0.1])
    got = sign_accuracy(np.ones(6), target)
    assert got["accuracy"] == pytest.approx(5 / 6)
    assert got["balanced_accuracy"] == pytest.approx(0.5)


def test_zero_signals_and_zero_returns_are_left_out_of_the_accuracies():
    # the (0, 0.3) and (1, 0) pairs make no prediction / have no outcome; of the other three,
    # the up outcome is hit, one of the two down outcomes is
    got = sign_accuracy(np.array([1.0, 1.0, 0.0, -1.0, 1.0]), np.array([0.2, -0.1, 0.3, -0.2, 0.0]))
    assert got["accuracy"] == pytest.approx(2 / 3)
    assert got["balanced_accuracy"] == pytest.approx((1 / 1 + 1 / 2) / 2)


def test_balanced_accuracy_needs_both_outcomes():
    assert sign_accuracy(np.array([1.0, -1.0]), np.array([0.1, 0.2]))["balanced_accuracy"] is None


def test_correlations_are_scipys_with_two_sided_p_values():
    signal = np.array([0.1, 0.4, -0.2, 0.3, -0.5, 0.0, 0.2])
    target = np.array([0.02, 0.01, -0.03, 0.05, -0.01, 0.00, -0.02])
    got = forward_correlations(signal, target)
    assert got["pearson"] == pytest.approx(np.corrcoef(signal, target)[0, 1])
    # Pearson p-value from the t statistic r * sqrt((n - 2) / (1 - r^2)) with n - 2 = 5 degrees
    r = got["pearson"]
    t_stat = r * np.sqrt(5 / (1 - r**2))
    assert got["pearson_pvalue"] == pytest.approx(2 * stats.t.sf(abs(t_stat), 5))
    kendall = stats.kendalltau(signal, target)
    assert got["kendall"] == pytest.approx(kendall.statistic)
    assert got["kendall_pvalue"] == pytest.approx(kendall.pvalue)


def test_a_constant_signal_has_no_correlation():
    assert forward_correlations(np.ones(5), np.arange(5.0))["pearson"] is None


def pairs_frame(rows: list[tuple[dt.date, float, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        {"date": [r[0] for r in rows], "signal": [r[1] for r in rows], "forward_return": [r[2] for r in rows]}
    )


def test_share_of_years_counts_years_with_balanced_accuracy_above_half():
    # 2019: all right (BA 1); 2020: all wrong (BA 0); 2021: both up/down hit once of two (BA 0.5,
    # not above); 2022: only up outcomes (no BA, not counted). Share = 1 / 3.
    rows = [
        (dt.date(2019, 1, 31), 1.0, 0.1), (dt.date(2019, 2, 28), -1.0, -0.1),
        (dt.date(2020, 1, 31), 1.0, -0.1), (dt.date(2020, 2, 28), -1.0, 0.1),
        (dt.date(2021, 1, 29), 1.0, 0.1), (dt.date(2021, 2, 26), -1.0, 0.1),
        (dt.date(2021, 3, 31), 1.0, -0.1), (dt.date(2021, 4, 30), -1.0, -0.1),
        (dt.date(2022, 1, 31), 1.0, 0.1), (dt.date(2022, 2, 28), -1.0, 0.2),
    ]
    got = signal_analytics(pairs_frame(rows))
    assert got.schema == pl.Schema(ANALYTICS_SCHEMA)
    assert got.get_column("period").to_list() == ["full", "2019", "2020", "2021", "2022"]
    full = got.row(0, named=True)
    assert full["observations"] == 10 and full["years"] == 3
    assert full["share_years_balanced_accuracy_above_half"] == pytest.approx(1 / 3)
    # full sample: ups 6 (hit: 2019, 2021 Jan, 2022 Jan = 3), downs 4 (hit: 2019, 2021 Apr = 2)
    assert full["accuracy"] == pytest.approx(5 / 10)
    assert full["balanced_accuracy"] == pytest.approx((3 / 6 + 2 / 4) / 2)
    yearly = {row["period"]: row for row in got.slice(1).iter_rows(named=True)}
    assert [yearly[y]["balanced_accuracy"] for y in ("2019", "2020", "2021")] == pytest.approx([1.0, 0.0, 0.5])
    assert yearly["2022"]["balanced_accuracy"] is None
    assert yearly["2021"]["pearson"] == pytest.approx(0.0)


def test_null_and_nan_pairs_are_dropped():
    rows = [(dt.date(2019, m, 1), s, r) for m, s, r in [(1, 1.0, 0.1), (2, -1.0, -0.2), (3, 0.5, 0.3), (4, -0.5, -0.1)]]
    missing = pl.DataFrame(
        {"date": [dt.date(2019, 5, 1), dt.date(2019, 6, 1)], "signal": [None, np.nan], "forward_return": [0.1, 0.2]},
        schema={"date": pl.Date, "signal": pl.Float64, "forward_return": pl.Float64},
    )
    frame = pl.concat([pairs_frame(rows), missing])
    assert signal_analytics(frame).item(0, "observations") == 4


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(-1, 1, allow_subnormal=False), st.floats(-1, 1, allow_subnormal=False)), min_size=4, max_size=40
    ),
    st.floats(0.1, 10),
)
def test_accuracies_are_shares_and_ignore_positive_rescaling(pairs, factor):
    signal = np.array([p[0] for p in pairs])
    target = np.array([p[1] for p in pairs])
    got = sign_accuracy(signal, target)
    scaled = sign_accuracy(signal * factor, target / factor)
    assert got == scaled
    for value in got.values():
        assert value is None or 0.0 <= value <= 1.0
    flipped = sign_accuracy(-signal, target)
    if got["balanced_accuracy"] is not None:
        assert flipped["balanced_accuracy"] == pytest.approx(1 - got["balanced_accuracy"])
