"""Composite levels from signed weights (indexcalc.composite, docs/design.md section 3), by hand."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexcalc.composite import (
    align_levels,
    composite_excess_return,
    composite_excess_returns,
    composite_total_return,
)
from indexcalc.errors import DataError
from indexcalc.panel import Panel

D = [dt.date(2024, 1, day) for day in (2, 3, 4, 5, 8)]


def _levels() -> pl.DataFrame:
    #        d1     d2     d3     d4     d5
    # A     100    110    121    110     99
    # B      50     50   52.5     60     45
    return pl.DataFrame(
        {
            "date": D * 2,
            "root": ["A"] * 5 + ["B"] * 5,
            "level": [100.0, 110.0, 121.0, 110.0, 99.0, 50.0, 50.0, 52.5, 60.0, 45.0],
        }
    )


def _weights() -> pl.DataFrame:
    # effective d2: A +0.5, B -0.5; effective d4: A +1.0, B 0
    return pl.DataFrame(
        {"effective_date": [D[1], D[1], D[3], D[3]], "root": ["A", "B", "A", "B"], "weight": [0.5, -0.5, 1.0, 0.0]}
    )


def test_excess_return_holds_positions_static_between_anchors():
    levels = composite_excess_return(_levels(), _weights(), D[0], 1000.0)
    # d1: base 1000; d2: first anchor, nothing held before it -> 1000
    # d3: period from d2: 0.5*(121/110-1) - 0.5*(52.5/50-1) = 0.05 - 0.025 = 0.025 -> 1025
    # d4: still the d2 period (it closes at d4): 0.5*(110/110-1) - 0.5*(60/50-1) = -0.1 -> 900
    # d5: period from d4: 1.0*(99/110-1) = -0.1 -> 900 * 0.9 = 810
    assert levels.get_column("date").to_list() == D
    assert levels.get_column("level").to_list() == pytest.approx([1000.0, 1000.0, 1025.0, 900.0, 810.0], abs=1e-9)
    assert levels.get_column("daily_return").to_list() == pytest.approx(
        [0.0, 0.0, 0.025, 900.0 / 1025.0 - 1.0, -0.1], abs=1e-12
    )


def test_excess_return_starts_at_base_value_on_a_later_base_date():
    weights = _weights().filter(pl.col("effective_date") == D[3])
    levels = composite_excess_return(_levels(), weights, D[2], 100.0)
    # base d3 = 100, d4 = first anchor (no period before it) = 100, d5 = 100 * 99/110 = 90
    assert levels.get_column("date").to_list() == D[2:]
    assert levels.get_column("level").to_list() == pytest.approx([100.0, 100.0, 90.0], abs=1e-12)


def test_excess_return_of_all_flat_weights_is_constant():
    flat = _weights().with_columns(pl.lit(0.0).alias("weight"))
    levels = composite_excess_return(_levels(), flat, D[0], 1000.0)
    assert levels.get_column("level").to_list() == [1000.0] * 5


def test_excess_return_rejects_effective_date_off_the_axis():
    weights = _weights().with_columns(pl.lit(dt.date(2024, 1, 6)).alias("effective_date"))
    with pytest.raises(DataError, match="effective date 2024-01-06 is not a date of the level axis"):
        composite_excess_return(_levels(), weights, D[0], 1000.0)


def test_excess_return_rejects_effective_date_before_the_base_date():
    with pytest.raises(DataError, match="effective date 2024-01-03 .* on or after the base date 2024-01-04"):
        composite_excess_return(_levels(), _weights(), D[2], 1000.0)


def test_excess_return_rejects_a_weighted_root_without_level_at_its_anchor():
    levels = _levels().filter(~((pl.col("root") == "B") & (pl.col("date") <= D[1])))
    with pytest.raises(DataError, match="root B: weighted but has no level on its effective date 2024-01-03"):
        composite_excess_return(align_levels(levels), _weights(), D[0], 1000.0)


def test_total_return_adds_collateral_to_the_excess_return_step():
    excess = pl.DataFrame({"date": D, "level": [1000.0, 1000.0, 1025.0, 900.0, 810.0]})
    collateral = pl.DataFrame({"date": D, "collateral_return": [0.0, 0.001, 0.001, 0.002, 0.001]})
    total = composite_total_return(excess, collateral, 1000.0)
    # CTR_1 = 1000; CTR_2 = 1000*(1 + 0.001) = 1001; CTR_3 = 1001*(1.025 + 0.001) = 1027.026
    # CTR_4 = 1027.026*(900/1025 + 0.002); CTR_5 = CTR_4*(810/900 + 0.001) = CTR_4 * 0.901
    ctr4 = 1027.026 * (900.0 / 1025.0 + 0.002)
    assert total.get_column("level").to_list() == pytest.approx([1000.0, 1001.0, 1027.026, ctr4, ctr4 * 0.901], abs=1e-9)
    assert total.item(0, "daily_return") == 0.0
    assert total.item(2, "daily_return") == pytest.approx(1027.026 / 1001.0 - 1.0, abs=1e-14)


def test_total_return_compounds_collateral_of_dates_between_index_dates():
    # a sector index trades on d1 and d3 only; the collateral axis (all roots) also has d2
    excess = pl.DataFrame({"date": [D[0], D[2]], "level": [1000.0, 1025.0]})
    collateral = pl.DataFrame(
        {"date": [dt.date(2023, 12, 29), D[0], D[1], D[2]], "collateral_return": [0.5, 0.3, 0.001, 0.001]}
    )
    total = composite_total_return(excess, collateral, 1000.0)
    # TBR over (d1, d3] = 1.001 * 1.001 - 1 = 0.002001; CTR_3 = 1000 * (1025/1000 + 0.002001) = 1027.001
    # (the 0.5 and 0.3 on or before the base date are not earned)
    assert total.get_column("level").to_list() == pytest.approx([1000.0, 1027.001], abs=1e-9)


def test_total_return_without_collateral_on_an_index_date_is_an_error():
    excess = pl.DataFrame({"date": D[:3], "level": [1000.0, 1000.0, 1025.0]})
    collateral = pl.DataFrame({"date": [D[0], D[1]], "collateral_return": [0.0, 0.001]})
    with pytest.raises(DataError, match="collateral: no collateral return on index date 2024-01-04"):
        composite_total_return(excess, collateral, 1000.0)


def test_align_levels_forward_fills_a_closed_root_and_leaves_its_start_null():
    levels = pl.DataFrame(
        {
            "date": [D[0], D[1], D[2], D[1], D[2]],
            "root": ["A", "A", "A", "B", "B"],
            "level": [1.0, 2.0, 3.0, 20.0, 30.0],
        }
    ).filter(~((pl.col("root") == "A") & (pl.col("date") == D[1])))
    aligned = align_levels(levels)
    as_rows = {(row["root"], row["date"]): row["level"] for row in aligned.iter_rows(named=True)}
    assert as_rows == {
        ("A", D[0]): 1.0,
        ("A", D[1]): 1.0,  # A closed on d2: its d1 level carries forward
        ("A", D[2]): 3.0,
        ("B", D[0]): None,  # before B's first level
        ("B", D[1]): 20.0,
        ("B", D[2]): 30.0,
    }


def test_excess_return_rejects_a_weighted_root_that_loses_its_level_inside_a_period():
    levels = _levels().with_columns(
        pl.when((pl.col("root") == "A") & (pl.col("date") == D[2])).then(None).otherwise(pl.col("level")).alias("level")
    )
    with pytest.raises(DataError, match="root A: weighted from 2024-01-03 but has no level on 2024-01-04"):
        composite_excess_return(levels, _weights(), D[0], 1000.0)


def test_excess_return_ignores_levels_of_roots_without_weight():
    extra = pl.DataFrame({"date": D, "root": "Z", "level": [None, 1.0, None, 3.0, None]}, schema=_levels().schema)
    levels = composite_excess_return(pl.concat([_levels(), extra]), _weights(), D[0], 1000.0)
    assert levels.get_column("level").to_list() == pytest.approx([1000.0, 1000.0, 1025.0, 900.0, 810.0], abs=1e-9)


def test_total_return_of_a_single_date_is_the_base_value():
    excess = pl.DataFrame({"date": [D[0]], "level": [1000.0]})
    collateral = pl.DataFrame({"date": [D[0]], "collateral_return": [0.01]})
    assert composite_total_return(excess, collateral, 100.0).rows() == [(D[0], 100.0, 0.0)]


def test_several_weight_sets_over_the_same_levels_equal_one_call_each():
    short = _weights().with_columns(-pl.col("weight"))
    both = composite_excess_returns(Panel.from_long(_levels(), "level"), {"long": _weights(), "short": short}, D[0], 1000.0)
    assert both["long"].equals(composite_excess_return(_levels(), _weights(), D[0], 1000.0))
    assert both["short"].equals(composite_excess_return(_levels(), short, D[0], 1000.0))
    # short of the hand case: d3 1000 * (1 - 0.025) = 975, d4 1000 * 1.1 = 1100, d5 1100 * 1.1 = 1210
    assert both["short"].get_column("level").to_list() == pytest.approx([1000.0, 1000.0, 975.0, 1100.0, 1210.0])


def test_a_flat_period_stays_exactly_at_the_level_that_closed_the_previous_one():
    weights = _weights().with_columns(
        pl.when(pl.col("effective_date") == D[3]).then(0.0).otherwise(pl.col("weight")).alias("weight")
    )
    weights = weights.with_columns(pl.col("weight") * 1.1)  # a weight whose products round
    levels = composite_excess_return(_levels(), weights, D[0], 1000.0).get_column("level").to_list()
    # d4 closes the first period; d5 is in the flat period from d4: the same float, not a near one
    assert levels[4] == levels[3]
    assert levels[3] == pytest.approx(1000.0 * (1.0 + 1.1 * (0.5 * 0.0 - 0.5 * 0.2)), abs=1e-9)


def test_levels_on_a_panel_equal_the_long_frame_bit_for_bit():
    # the hand case's levels as a dates x roots panel with an extra unweighted root C and a
    # weighted root D the panel lacks (flat weight, so no level is needed); base date d2
    import numpy as np

    levels = _levels()
    matrix = np.array([[100.0, 50.0, 7.0], [110.0, 50.0, 7.0], [121.0, 52.5, np.nan], [110.0, 60.0, 8.0],
                       [99.0, 45.0, 9.0]])
    weights = pl.concat([_weights(), pl.DataFrame({"effective_date": [D[3]], "root": ["D"], "weight": [0.0]})])
    short = weights.with_columns(-pl.col("weight") * 1.1)
    expected = {name: composite_excess_return(levels, frame, D[1], 1000.0) for name, frame in (("long", weights), ("short", short))}
    panel = Panel(pl.Series("date", D), pl.Series("root", ["A", "B", "C"]), matrix)
    got = composite_excess_returns(panel, {"long": weights, "short": short}, D[1], 1000.0)
    assert got["long"].equals(expected["long"]) and got["short"].equals(expected["short"])
    assert got["long"].get_column("level").to_list() == pytest.approx([1000.0, 1025.0, 900.0, 810.0], abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(min_value=1, max_value=12).flatmap(
        lambda roots: st.tuples(
            st.just(roots),
            st.lists(st.floats(-0.08, 0.08), min_size=roots * 30, max_size=roots * 30),
            st.lists(st.floats(-0.4, 0.4), min_size=roots * 3, max_size=roots * 3),
            st.lists(st.floats(0.0, 0.002), min_size=30, max_size=30),
        )
    )
)
@pytest.mark.slow
def test_the_daily_run_s_continuation_steps_equal_the_composite_to_the_bit(case):
    # Random levels (30 days x n roots), weights at three anchors (days 5, 12, 20), collateral:
    # continuing the last period day by day from its anchor (what the daily run does, with
    # contributions / continued_excess_levels / continued_total_level) gives exactly the
    # composite's ER and TR levels.
    import numpy as np

    from indexcalc.composite import (
        accrued_collateral,
        continued_excess_levels,
        continued_total_level,
        contributions,
    )

    roots, moves, weights, collateral = case
    days = [dt.date(2024, 1, 1) + dt.timedelta(days=offset) for offset in range(30)]
    names = [f"R{number:02d}" for number in range(roots)]
    matrix = 100.0 * np.cumprod(1.0 + np.array(moves).reshape(30, roots), axis=0)
    levels = pl.DataFrame({"date": days * roots, "root": [name for name in names for _ in days],
                           "level": matrix.T.ravel()})
    anchors = [days[5], days[12], days[20]]
    weight_frame = pl.DataFrame({"effective_date": [anchor for anchor in anchors for _ in names],
                                 "root": names * 3, "weight": weights})
    excess = composite_excess_return(levels, weight_frame, days[5], 1000.0)
    total = composite_total_return(
        excess, pl.DataFrame({"date": days, "collateral_return": collateral}), 1000.0)
    er, tr = excess.get_column("level").to_numpy(), total.get_column("level").to_numpy()
    anchor_row, last_weights = 20 - 5, np.array(weights[-roots:])
    last_excess, last_total = er[anchor_row], tr[anchor_row]
    for day in range(21, 30):
        period_return = contributions(last_weights[None, :], matrix[20][None, :], matrix[day][None, :]).sum(axis=1)
        continued = continued_excess_levels(er[anchor_row], period_return)[0]
        continued_total = continued_total_level(last_total, last_excess, continued,
                                                accrued_collateral(np.array([collateral[day]])))
        assert continued == er[day - 5] and continued_total == tr[day - 5]
        last_excess, last_total = continued, continued_total
