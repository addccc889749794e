"""Annual reconstitution rules (indexcalc.families.momentum.reconstitution) and the member magnitude
(indexcalc.families.momentum.magnitude.member_magnitude_weights), docs/design.md section 3: small frames, the
expected values worked out in the comments."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexcalc.errors import DataError
from indexcalc.families.momentum.magnitude import magnitude_weights, member_magnitude_weights
from indexcalc.panel import Panel
from indexcalc.families.momentum.reconstitution import UNIVERSE_SCHEMA, eligibility, membership, selection_dates

D1, D2, D3 = dt.date(2000, 11, 30), dt.date(2000, 12, 29), dt.date(2001, 1, 31)


def _averages(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={"date": pl.Date(), "root": pl.String(), "average": pl.Float64(), "full_window": pl.Boolean()},
        orient="row",
    )


def test_eligibility_needs_a_full_window_a_positive_average_and_the_threshold():
    # threshold 10: A 50 and B 10 (equal to it) pass; C 9 is below; D 80 lacks a full window;
    # E has no observation (null); F's average 0 never passes, even with a threshold of 0 below
    table = eligibility(
        _averages([(D2, "A", 50.0, True), (D2, "B", 10.0, True), (D2, "C", 9.0, True),
                   (D2, "D", 80.0, False), (D2, "E", None, True), (D2, "F", 0.0, True)]),
        10.0,
        None,
    )
    assert table.schema == pl.Schema(UNIVERSE_SCHEMA)
    rows = {row["root"]: row for row in table.iter_rows(named=True)}
    assert [root for root, row in rows.items() if row["eligible"]] == ["A", "B"]
    assert [root for root, row in rows.items() if row["member"]] == ["A", "B"]
    # ranks among the eligible only, largest first; D's larger average does not count
    assert (rows["A"]["rank"], rows["B"]["rank"], rows["C"]["rank"], rows["D"]["rank"]) == (1, 2, None, None)
    assert rows["D"]["average_dollar_open_interest"] == 80.0 and not rows["D"]["full_window"]
    zero_threshold = eligibility(_averages([(D2, "F", 0.0, True), (D2, "A", 1.0, True)]), 0.0, None)
    assert zero_threshold.filter(pl.col("member")).get_column("root").to_list() == ["A"]


def test_max_roots_keeps_the_largest_averages_ties_by_root_name():
    # eligible at D2: A 30, B 50, C 30, D 20, E 40 -> order B, E, A, C (tie with A: name), D;
    # max_roots 3 keeps B, E, A. At D3 only 2 are eligible: both kept (the limit is an upper bound)
    table = eligibility(
        _averages([(D2, "A", 30.0, True), (D2, "B", 50.0, True), (D2, "C", 30.0, True), (D2, "D", 20.0, True),
                   (D2, "E", 40.0, True), (D3, "A", 30.0, True), (D3, "B", 5.0, True), (D3, "C", 30.0, True)]),
        10.0,
        3,
    )
    at_d2 = table.filter(pl.col("date") == D2).sort("rank")
    assert at_d2.get_column("root").to_list() == ["B", "E", "A", "C", "D"]
    assert at_d2.get_column("rank").to_list() == [1, 2, 3, 4, 5]
    assert at_d2.filter(pl.col("member")).get_column("root").to_list() == ["B", "E", "A"]
    at_d3 = table.filter(pl.col("date") == D3)
    assert at_d3.filter(pl.col("member")).get_column("root").sort().to_list() == ["A", "C"]


def test_selection_dates_are_the_base_date_and_each_later_rebalance_of_the_month():
    rebalances = pl.Series([dt.date(2000, month, 28) for month in range(1, 13)]
                           + [dt.date(2001, month, 28) for month in range(1, 13)])
    # base date April 2000, reconstitution month 12: Apr 2000, Dec 2000, Dec 2001
    assert selection_dates(rebalances, dt.date(2000, 4, 28), 12).to_list() == [
        dt.date(2000, 4, 28), dt.date(2000, 12, 28), dt.date(2001, 12, 28)
    ]
    # a base date in the reconstitution month is one selection, not two; June: Jun 2000 and Jun 2001
    june = selection_dates(rebalances, dt.date(2000, 6, 28), 6)
    assert june.to_list() == [dt.date(2000, 6, 28), dt.date(2001, 6, 28)]


def test_membership_holds_each_choice_until_the_next_selection():
    # chosen on 28 Apr: A, B; on 29 Dec: B, C. Rebalances before 28 Apr have no members; those
    # from 28 Apr to 30 Nov hold A, B; those from 29 Dec on hold B, C
    universe = pl.DataFrame(
        {
            "date": [dt.date(2000, 4, 28)] * 3 + [D2] * 3,
            "root": ["A", "B", "C"] * 2,
            "member": [True, True, False, False, True, True],
        }
    )
    rebalances = pl.Series([dt.date(2000, 3, 31), dt.date(2000, 4, 28), dt.date(2000, 5, 31), D1, D2, D3])
    members = membership(universe, rebalances)
    held = members.group_by("date").agg(pl.col("root").sort()).sort("date")
    assert held.rows() == [
        (dt.date(2000, 4, 28), ["A", "B"]),
        (dt.date(2000, 5, 31), ["A", "B"]),
        (D1, ["A", "B"]),
        (D2, ["B", "C"]),
        (D3, ["B", "C"]),
    ]
    assert members.filter(pl.col("date") == D3).get_column("selection_date").unique().to_list() == [D2]


def test_member_magnitude_is_normalised_and_capped_over_the_members_only():
    # averages at D1: A 50, B 30, C 20, D 40 (not a member), E 5 (member). Members A, B, C, E
    # (sum 105): 0.47619, 0.28571, 0.19048, 0.04762; cap 0.3: A -> 0.3, the rest x 0.7/0.52381:
    # B 0.38182, C 0.25455, E 0.06364; B -> 0.3, rest x 0.4/0.31818: C 0.32, E 0.08; C -> 0.3,
    # E takes the remaining 0.1. D has no row.
    averages = pl.DataFrame(
        {"date": [D1] * 5, "root": ["A", "B", "C", "D", "E"], "average": [50.0, 30.0, 20.0, 40.0, 5.0]}
    )
    members = pl.DataFrame({"date": [D1] * 4, "root": ["A", "B", "C", "E"]})
    magnitude = member_magnitude_weights(averages, members, 0.3)
    assert magnitude.columns == ["date", "root", "magnitude"]
    assert magnitude.get_column("root").to_list() == ["A", "B", "C", "E"]
    np.testing.assert_allclose(magnitude.get_column("magnitude").to_numpy(), [0.3, 0.3, 0.3, 0.1], rtol=0, atol=1e-15)


def test_member_magnitude_of_a_null_average_names_root_and_date():
    # a non-member without an average is fine; a member without one is a data error
    averages = pl.DataFrame({"date": [D1] * 3, "root": ["A", "B", "C"], "average": [1.0, None, None]},
                            schema_overrides={"average": pl.Float64})
    with pytest.raises(DataError, match=r"root C: no open-interest average on 2000-11-30"):
        member_magnitude_weights(averages, pl.DataFrame({"date": [D1, D1], "root": ["A", "C"]}), 1.0)
    alone = member_magnitude_weights(averages, pl.DataFrame({"date": [D1], "root": ["A"]}), 1.0)
    assert alone.item(0, "magnitude") == 1.0


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.lists(st.floats(0.01, 1e3), min_size=12, max_size=12), min_size=1, max_size=5),
    st.sampled_from([0.1, 0.125, 0.2, 0.25, 1.0 / 3.0]),
)
def test_member_magnitude_with_every_root_a_member_is_the_fixed_universe_magnitude_bit_for_bit(rows, cap):
    dates = [D1 + dt.timedelta(days=31 * number) for number in range(len(rows))]
    roots = [f"R{number:02d}" for number in range(12)]
    averages = pl.DataFrame(
        {"date": [date for date in dates for _ in roots], "root": roots * len(rows), "average": np.ravel(rows)},
        schema={"date": pl.Date(), "root": pl.String(), "average": pl.Float64()},
    )
    everyone = averages.select("date", "root")
    fixed_universe = magnitude_weights(Panel.from_long(averages, "average"), cap).to_long("magnitude")
    assert member_magnitude_weights(averages, everyone, cap).equals(fixed_universe.select("date", "root", "magnitude").sort("date", "root"))
