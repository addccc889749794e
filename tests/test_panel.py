"""The dates x roots panel (indexcalc.panel), by hand."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from indexcalc.errors import DataError
from indexcalc.panel import Panel, positions

D = [dt.date(2024, 1, day) for day in (2, 3, 4)]


def _frame() -> pl.DataFrame:
    # B has no row on d2, A a null on d3; a row of d9 (not on a given axis) and root C
    return pl.DataFrame(
        {
            "date": [D[0], D[1], D[2], D[1], D[2], D[0]],
            "root": ["A", "A", "A", "B", "B", "C"],
            "value": [1.0, None, 3.0, 20.0, 30.0, 500.0],
        }
    )


def test_from_long_puts_each_row_in_its_cell_and_fills_the_others():
    panel = Panel.from_long(_frame(), "value")
    assert panel.dates.to_list() == D
    assert panel.roots.to_list() == ["A", "B", "C"]
    expected = [[1.0, np.nan, 500.0], [np.nan, 20.0, np.nan], [3.0, 30.0, np.nan]]
    np.testing.assert_array_equal(panel.values, np.array(expected))


def test_from_long_on_a_given_axis_and_roots_leaves_the_others_out():
    panel = Panel.from_long(_frame(), "value", dates=pl.Series([D[1], D[2]]), roots=pl.Series(["B", "A"]), fill=0.0)
    np.testing.assert_array_equal(panel.values, np.array([[20.0, 0.0], [30.0, 3.0]]))


def test_to_long_is_by_root_then_date_with_nan_as_null():
    frame = Panel.from_long(_frame(), "value", roots=pl.Series(["A", "B"])).to_long("value")
    assert frame.columns == ["root", "date", "value"]
    assert frame.rows() == [
        ("A", D[0], 1.0), ("A", D[1], None), ("A", D[2], 3.0),
        ("B", D[0], None), ("B", D[1], 20.0), ("B", D[2], 30.0),
    ]


def test_columns_reorders_fills_an_absent_root_or_names_it():
    panel = Panel.from_long(_frame(), "value")
    picked = panel.columns(pl.Series(["C", "Z", "A"]))
    np.testing.assert_array_equal(picked.values[:, [0, 2]], panel.values[:, [2, 0]])
    assert np.isnan(picked.values[:, 1]).all()
    with pytest.raises(DataError, match=r"no values for roots \['Z'\]"):
        panel.columns(pl.Series(["A", "Z"]), fill=None)


def test_since_take_rows_and_forward_fill():
    panel = Panel.from_long(_frame(), "value")
    assert panel.since(dt.date(2024, 1, 3)).dates.to_list() == D[1:]
    assert panel.since(dt.date(2024, 1, 5)).values.shape == (0, 3)
    assert panel.take(np.array([0, 2])).values[:, 0].tolist() == [1.0, 3.0]
    assert panel.rows(pl.Series([D[2], D[0]])).tolist() == [2, 0]
    filled = panel.forward_filled().values
    # A: 1, (1), 3; B: nan before its first value, then 20, 30; C: 500 carried down
    np.testing.assert_array_equal(filled, np.array([[1.0, np.nan, 500.0], [1.0, 20.0, 500.0], [3.0, 30.0, 500.0]]))


def test_positions_in_unsorted_roots():
    assert positions(pl.Series(["C", "A", "B"]), pl.Series(["A", "X", "C", "B"])).tolist() == [1, -1, 0, 2]


def test_a_panel_whose_values_do_not_fit_its_axes_is_refused():
    with pytest.raises(ValueError, match="do not fit"):
        Panel(pl.Series(D), pl.Series(["A"]), np.zeros((2, 1)))
