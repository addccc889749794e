"""Direction: ER vs its trailing mean, ties, family mapping (docs/design.md section 3)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexcalc.rules.calendar import trailing_mean
from indexcalc.families.momentum.direction import (
    FAMILY_DIRECTIONS,
    family_direction,
    momentum_direction,
    momentum_signal,
)
from indexcalc.panel import Panel

R = [dt.date(2024, month, 28) for month in (1, 2, 3, 4, 5)]


def _direction_of_frame(signals: pl.DataFrame, tie_tolerance: float) -> pl.DataFrame:
    """The oracle: D on the long frame ``date, root, signal`` (non-null signals of full windows
    at consecutive rebalance dates of each root) with polars: the sign, forward-filled over ties
    per root, 0 before the first decision."""
    signal = pl.col("signal")
    decided = pl.when(signal > tie_tolerance).then(1).when(signal < -tie_tolerance).then(-1)
    return (
        signals.select("date", "root", "signal")
        .sort("root", "date")
        .with_columns(decided.cast(pl.Int8).forward_fill().over("root").fill_null(0).alias("momentum"))
        .sort("date", "root")
    )


def _panel(values: np.ndarray) -> Panel:
    dates = pl.Series("date", [dt.date(2020, 1, 31) + dt.timedelta(days=31 * row) for row in range(values.shape[0])])
    return Panel(dates, pl.Series("root", [f"R{column}" for column in range(values.shape[1])]), values)


def test_signal_is_the_level_over_its_trailing_mean_minus_one():
    levels = pl.DataFrame(
        {
            "date": [dt.date(2023, 12, 29), dt.date(2024, 1, 5), dt.date(2024, 1, 26), dt.date(2024, 2, 9), dt.date(2024, 2, 28)],
            "root": "CL",
            "level": [100.0, 90.0, 96.0, 110.0, 120.0],
        }
    )
    window = trailing_mean(levels, "level", pl.Series([dt.date(2024, 1, 31), dt.date(2024, 2, 29)]), 1)
    signal = momentum_signal(Panel.from_long(window, "latest"), Panel.from_long(window, "mean"))
    # 31 Jan: January mean (90 + 96) / 2 = 93 -> 96 / 93 - 1; 29 Feb: (110 + 120) / 2 = 115 -> 120/115 - 1
    assert signal.values[:, 0].tolist() == pytest.approx([96.0 / 93.0 - 1.0, 120.0 / 115.0 - 1.0], abs=1e-15)
    assert window.get_column("full_window").to_list() == [True, True]


def test_direction_is_the_sign_and_a_tie_keeps_the_previous_direction():
    signals = pl.DataFrame(
        {
            "date": R * 2,
            "root": ["A"] * 5 + ["B"] * 5,
            #          +      tie     -     tie(1e-13)  +
            "signal": [0.05, 0.0, -0.02, 1e-13, 0.3] + [0.0, -1e-12, 0.01, 0.0, -0.5],
        }
    )
    panel = Panel.from_long(signals, "signal")
    everywhere = np.ones(panel.values.shape, dtype=bool)
    direction = momentum_direction(panel, everywhere, everywhere, 1e-12)
    by_root = {root: direction.columns(pl.Series([root])).values[:, 0].tolist() for root in ("A", "B")}
    assert direction.values.dtype == np.int8
    assert by_root["A"] == [1, 1, -1, -1, 1]
    # B opens on a tie (and -1e-12 is within the tolerance): undecided 0 until the first sign
    assert by_root["B"] == [0, 0, 1, 1, -1]


def _family_frame() -> pl.DataFrame:
    # CL is energy, GC precious metals; each with D = +1, -1 and 0
    return pl.DataFrame(
        {"root": ["CL", "CL", "CL", "GC", "GC", "GC"], "momentum": [1, -1, 0, 1, -1, 0]},
        schema={"root": pl.String(), "momentum": pl.Int8()},
    )


@pytest.mark.parametrize(
    ("family", "expected"),
    [
        #                CL: +  -  0    GC: +  -  0
        ("long_short", [1, 0, 0, 1, -1, 0]),
        ("long_flat", [1, 0, 0, 1, 0, 0]),
        ("short_flat", [0, 0, 0, 0, -1, 0]),
        ("long_only", [1, 1, 1, 1, 1, 1]),
        ("short_only", [-1, -1, -1, -1, -1, -1]),
    ],
)
def test_family_direction_table_with_energy_shorts_flat(family, expected):
    sectors = {"CL": "energy", "GC": "precious_metals"}
    mapped = family_direction(_family_frame(), family, sectors, ("energy",))
    assert mapped.get_column("direction").to_list() == expected


def test_family_direction_without_flat_sectors_keeps_energy_shorts():
    sectors = {"CL": "energy", "GC": "precious_metals"}
    mapped = family_direction(_family_frame(), "long_short", sectors, ())
    assert mapped.get_column("direction").to_list() == [1, -1, 0, 1, -1, 0]


def test_families_add_up_long_short_equals_long_flat_plus_short_flat():
    sectors = {"CL": "energy", "GC": "precious_metals"}
    frame = _family_frame()
    direction = {family: family_direction(frame, family, sectors, ("energy",)).get_column("direction") for family in FAMILY_DIRECTIONS}
    assert (direction["long_short"] == direction["long_flat"] + direction["short_flat"]).all()
    assert (direction["short_only"] == -direction["long_only"]).all()


def test_direction_panel_hand_case():
    # one root, tolerance 0.01: rows 0-1 before the full window (not published), then
    # +0.05 -> +1, 0.005 tie -> keeps +1, null signal -> tie keeps +1, -0.02 -> -1, NaN -> +1
    signal = np.array([[0.5], [-0.5], [0.05], [0.005], [0.0], [-0.02], [np.nan]])
    has_signal = np.array([[True], [True], [True], [True], [False], [True], [True]])
    full = np.array([[False], [False], [True], [True], [True], [True], [True]])
    d = momentum_direction(_panel(signal), has_signal, full, 0.01).values
    assert d[2:, 0].tolist() == [1, 1, 1, -1, 1] and d.dtype == np.int8


@settings(max_examples=60, deadline=None)
@given(
    cells=st.lists(
        st.tuples(st.sampled_from([None, -0.2, -0.01, 0.0, 0.005, 0.01, 0.3, float("nan")]), st.booleans()),
        min_size=6,
        max_size=6 * 3,
    ),
)
def test_direction_panel_equals_the_frame_oracle(cells):
    roots = ["A", "B", "C"]
    n_rows = len(cells) // 3
    cells = cells[: n_rows * 3]
    signal = np.array([np.nan if value is None else value for value, _ in cells]).reshape(n_rows, 3)
    has_signal = np.array([value is not None for value, _ in cells]).reshape(n_rows, 3)
    # a root's window is full from some row on
    full = np.cumsum(np.array([flag for _, flag in cells]).reshape(n_rows, 3), axis=0) > 0
    dates = [dt.date(2020, 1, 31) + dt.timedelta(days=31 * row) for row in range(n_rows)]
    frame = pl.DataFrame(
        {
            "date": [dates[row] for row in range(n_rows) for _ in roots],
            "root": roots * n_rows,
            "signal": [value for value, _ in cells],
            "full": full.ravel(),
        },
        schema={"date": pl.Date, "root": pl.String, "signal": pl.Float64, "full": pl.Boolean},
    ).filter(pl.col("full"))
    expected = _direction_of_frame(frame, 0.01).get_column("momentum").to_list()
    d = momentum_direction(_panel(signal), has_signal, full, 0.01).values
    assert d[full].tolist() == expected  # both in date, root order
