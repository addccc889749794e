"""Magnitude: dollar open interest, trailing average, cap with redistribution (docs/design.md section 3)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexcalc.data.instruments import load_instruments
from indexcalc.data.market import PRICES_SCHEMA
from indexcalc.errors import DataError, SpecError
from indexcalc.panel import Panel
from indexcalc.families.momentum.magnitude import (
    cap_weights,
    cftc_dollar_open_interest,
    dollar_open_interest,
    fixed_magnitude,
    impute_unreported,
    magnitude_weights,
    read_cftc_open_interest,
)

INSTRUMENTS = load_instruments()


# ---- cap_weights: hand cases ---------------------------------------------------------------


def test_cap_moves_one_far_heavy_weight_to_the_cap_and_shares_its_excess_pro_rata():
    # 0.6 -> 0.25, excess 0.35 shared over four weights of 0.1 each (total 0.4):
    # each 0.1 + 0.35 * 0.1 / 0.4 = 0.1875
    capped = cap_weights([0.6, 0.1, 0.1, 0.1, 0.1], 0.25)
    np.testing.assert_allclose(capped, [0.25, 0.1875, 0.1875, 0.1875, 0.1875], rtol=0, atol=1e-15)


def test_cap_handles_several_weights_above_it_at_once():
    # 0.3, 0.3 -> 0.25 each, excess 0.1 over 0.2 + 0.1 + 0.1 = 0.4, i.e. scale 0.5 / 0.4 = 1.25:
    # 0.2 -> 0.25 (at the cap, not above: stays), 0.1 -> 0.125
    capped = cap_weights([0.3, 0.3, 0.2, 0.1, 0.1], 0.25)
    np.testing.assert_allclose(capped, [0.25, 0.25, 0.25, 0.125, 0.125], rtol=0, atol=1e-15)


def test_cap_redistributes_again_when_the_excess_pushes_a_second_weight_over():
    # pass 1: 0.4 -> 0.25, others x 0.75/0.6 = 1.25: 0.275, 0.25, 0.125, 0.1 (0.22 -> 0.275 > cap)
    # pass 2: 0.275 -> 0.25, room 0.5 over 0.25 + 0.125 + 0.1: 0.2632 (0.2 -> over again)
    # pass 3: three at the cap, room 0.25 shared 0.1 : 0.08 = 5 : 4 -> 5/36 and 4/36
    capped = cap_weights([0.4, 0.22, 0.2, 0.1, 0.08], 0.25)
    np.testing.assert_allclose(capped, [0.25, 0.25, 0.25, 5.0 / 36.0, 4.0 / 36.0], rtol=0, atol=1e-15)


def test_cap_leaves_weights_exactly_at_the_cap_unchanged():
    weights = [0.25, 0.25, 0.2, 0.15, 0.15]
    np.testing.assert_array_equal(cap_weights(weights, 0.25), weights)


def test_cap_normalises_raw_weights_first():
    # dollar amounts 6, 1, 1, 1, 1 are the first hand case's 0.6, 0.1, ... after normalising
    np.testing.assert_allclose(cap_weights([6.0, 1.0, 1.0, 1.0, 1.0], 0.25), [0.25] + [0.1875] * 4, atol=1e-15)


def test_cap_caps_each_row_of_a_matrix_independently():
    matrix = cap_weights([[0.6, 0.1, 0.1, 0.1, 0.1], [0.25, 0.25, 0.2, 0.15, 0.15]], 0.25)
    np.testing.assert_allclose(matrix, [[0.25] + [0.1875] * 4, [0.25, 0.25, 0.2, 0.15, 0.15]], atol=1e-15)


def test_cap_over_exactly_one_over_cap_roots_gives_equal_weights():
    np.testing.assert_allclose(cap_weights([0.5, 0.3, 0.1, 0.1], 0.25), [0.25] * 4, atol=1e-15)


def test_cap_that_cannot_hold_over_too_few_roots_is_a_spec_error():
    with pytest.raises(SpecError, match=r"cap 0.25 cannot hold over 3 root\(s\) .* needs at least 4 roots"):
        cap_weights([0.5, 0.3, 0.2], 0.25)


def test_cap_that_cannot_hold_because_of_zero_weights_is_a_spec_error():
    with pytest.raises(SpecError, match=r"over 2 root\(s\) with positive weight"):
        cap_weights([0.9, 0.1, 0.0, 0.0, 0.0], 0.25)


def test_cap_rejects_negative_weights():
    with pytest.raises(DataError, match="non-negative"):
        cap_weights([0.5, -0.1, 0.6], 0.5)


@settings(max_examples=300, deadline=None)
@given(
    raw=st.lists(st.floats(min_value=1e-6, max_value=1e6, allow_nan=False), min_size=1, max_size=30),
    slack=st.floats(min_value=0.0, max_value=1.0),
)
@pytest.mark.slow
def test_capped_weights_are_a_capped_simplex_in_the_same_order(raw, slack):
    cap = 1.0 / len(raw) + slack * (1.0 - 1.0 / len(raw))
    capped = cap_weights(raw, cap)
    assert (capped >= 0).all()
    assert capped.sum() == pytest.approx(1.0, abs=1e-12)
    assert (capped <= cap).all()
    order = np.argsort(raw, kind="stable")
    assert (np.diff(capped[order]) >= 0).all()


# ---- dollar open interest ------------------------------------------------------------------


def _prices(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=PRICES_SCHEMA, orient="row")


def test_dollar_open_interest_sums_contracts_times_multiplier_and_settle():
    day = dt.date(2024, 1, 2)
    prices = _prices(
        [
            (day, "CL", 202402, 50.0, 1.0, 10.0),
            (day, "CL", 202403, 52.0, 1.0, 5.0),
            (day, "GC", 202402, 2000.0, 1.0, 3.0),
        ]
    )
    doi = dollar_open_interest(prices, INSTRUMENTS, ["CL", "GC"])
    # CL: 10 * 1000 * 50 + 5 * 1000 * 52 = 760 000 USD; GC: 3 * 100 * 2000 = 600 000 USD
    assert doi.rows() == [(day, "CL", 760_000.0), (day, "GC", 600_000.0)]


def test_dollar_open_interest_without_open_interest_names_the_root_and_the_other_sources():
    day = dt.date(2024, 1, 2)
    prices = _prices([(day, "CL", 202402, 50.0, None, 10.0), (day, "GC", 202402, 2000.0, None, None)])
    with pytest.raises(SpecError, match=r"root GC: open interest or settle missing on 2024-01-02 .*'cftc' or 'fixed'"):
        dollar_open_interest(prices, INSTRUMENTS, ["CL", "GC"])


def test_dollar_open_interest_of_unsorted_prices_equals_that_of_sorted_prices():
    days = [dt.date(2024, 1, 2), dt.date(2024, 1, 3)]
    rows = [
        (day, root, contract, 10.0 + offset, 1.0, 100.0 * (offset + 1))
        for offset, (day, root, contract) in enumerate(
            (day, root, contract) for root in ("CL", "GC") for day in days for contract in (202402, 202404)
        )
    ]
    ordered = dollar_open_interest(_prices(rows), INSTRUMENTS, ["CL", "GC"])
    shuffled = dollar_open_interest(_prices(rows[::-1][1:] + rows[-1:]), INSTRUMENTS, ["CL", "GC"])
    assert shuffled.rows() == ordered.rows()
    # CL on 2 Jan: (10 * 100 + 11 * 200) * 1000 = 3 200 000 USD
    assert ordered.row(0) == (days[0], "CL", 3_200_000.0)
    assert ordered.height == 4


def test_dollar_open_interest_ignores_missing_open_interest_of_other_roots():
    day = dt.date(2024, 1, 2)
    prices = _prices([(day, "CL", 202402, 50.0, None, 10.0), (day, "KC", 202403, 2.0, None, None)])
    assert dollar_open_interest(prices, INSTRUMENTS, ["CL"]).rows() == [(day, "CL", 500_000.0)]


def test_dollar_open_interest_in_blocks_of_roots_equals_one_pass_bit_for_bit(embedded_market):
    # about 300,000 price rows per block: the embedded market in several blocks of whole roots
    roots = embedded_market.roots
    whole = dollar_open_interest(embedded_market.prices, embedded_market.instruments, roots, block_rows=10**9)
    blocked = dollar_open_interest(embedded_market.prices, embedded_market.instruments, roots, block_rows=300_000)
    assert blocked.equals(whole)
    some = roots[2:9:2]  # blocks then also hold rows of roots left out
    assert dollar_open_interest(
        embedded_market.prices, embedded_market.instruments, some, block_rows=300_000
    ).equals(whole.filter(pl.col("root").is_in(some)))


def test_dollar_open_interest_in_blocks_names_the_earliest_missing_open_interest_over_all_roots():
    days = [dt.date(2024, 1, 2), dt.date(2024, 1, 3)]
    rows = [(day, root, 202402, 50.0, 1.0, 10.0) for root in ("CL", "GC") for day in days]
    rows[1] = (days[1], "CL", 202402, 50.0, 1.0, None)  # CL's gap: 3 Jan, first block
    rows[2] = (days[0], "GC", 202402, 50.0, 1.0, None)  # GC's gap: 2 Jan, second block
    for block_rows in (2, 10**9):
        with pytest.raises(SpecError, match=r"root GC: open interest or settle missing on 2024-01-02"):
            dollar_open_interest(_prices(rows), INSTRUMENTS, ["CL", "GC"], block_rows=block_rows)


def test_magnitude_weights_normalise_then_cap_per_rebalance():
    rebalance = dt.date(2024, 2, 29)
    averages = pl.DataFrame(
        {"date": rebalance, "root": ["C", "CL", "GC", "HG", "W"], "average": [10.0, 60.0, 10.0, 10.0, 10.0]}
    )
    magnitude = magnitude_weights(Panel.from_long(averages, "average"), 0.25)
    # raw 0.1, 0.6, 0.1, 0.1, 0.1 -> CL at 0.25, the rest 0.1875 (first cap hand case)
    assert magnitude.roots.to_list() == ["C", "CL", "GC", "HG", "W"]
    np.testing.assert_allclose(magnitude.values[0], [0.1875, 0.25, 0.1875, 0.1875, 0.1875])


def test_magnitude_weights_with_a_null_average_names_root_and_date():
    averages = pl.DataFrame({"date": dt.date(2024, 2, 29), "root": ["A", "B"], "average": [1.0, None]})
    with pytest.raises(DataError, match="root B: no open-interest average on 2024-02-29"):
        magnitude_weights(Panel.from_long(averages, "average"), 0.5)


def test_magnitude_caps_each_rebalance_row():
    dates = [dt.date(2024, 1, 31), dt.date(2024, 2, 29)]
    roots = ["C", "CL", "GC", "HG", "W"]
    # row 1: raw 0.1, 0.6, 0.1, 0.1, 0.1 -> CL at 0.25, the rest 0.75 / 4 = 0.1875; row 2: 0.2 each, none capped
    averages = np.array([[10.0, 60.0, 10.0, 10.0, 10.0], [5.0, 5.0, 5.0, 5.0, 5.0]])
    capped = magnitude_weights(Panel(pl.Series(dates), pl.Series(roots), averages), 0.25).values
    np.testing.assert_allclose(capped, [[0.1875, 0.25, 0.1875, 0.1875, 0.1875], [0.2] * 5])
    assert capped.tolist() == cap_weights(averages, 0.25).tolist()


def test_magnitude_without_an_average_names_the_first_root_and_date():
    averages = np.array([[1.0, 1.0], [1.0, np.nan]])
    panel = Panel(pl.Series([dt.date(2024, 1, 31), dt.date(2024, 2, 29)]), pl.Series(["A", "B"]), averages)
    with pytest.raises(DataError, match="root B: no open-interest average on 2024-02-29"):
        magnitude_weights(panel, 0.5)


def test_fixed_magnitude_renormalises_over_the_index_roots_and_repeats_each_rebalance():
    rebalances = pl.Series([dt.date(2024, 1, 31), dt.date(2024, 2, 29)])
    weights = {"CL": 3.0, "NG": 1.0, "GC": 4.0}
    fixed = fixed_magnitude(weights, ["NG", "CL"], rebalances, 1.0).to_long("magnitude").sort("date", "root")
    # GC is outside the index: CL 3 / 4 = 0.75, NG 1 / 4 = 0.25
    assert fixed.select("date", "root", "magnitude").rows() == [
        (dt.date(2024, 1, 31), "CL", 0.75),
        (dt.date(2024, 1, 31), "NG", 0.25),
        (dt.date(2024, 2, 29), "CL", 0.75),
        (dt.date(2024, 2, 29), "NG", 0.25),
    ]
    with pytest.raises(SpecError, match="root HO: magnitude source 'fixed' has no weight"):
        fixed_magnitude(weights, ["CL", "HO"], rebalances, 1.0)


# ---- CFTC source ---------------------------------------------------------------------------


def test_cftc_open_interest_is_known_after_release_and_valued_at_the_front_settle():
    reports = pl.DataFrame(
        {
            "report_date": [dt.date(2024, 1, 2), dt.date(2024, 1, 9), dt.date(2024, 1, 2)],
            "market": ["gold", "gold", "silver"],
            "open_interest": [100.0, 120.0, 7.0],
        }
    )
    prices = _prices(
        [
            (dt.date(2024, 1, 4), "GC", 202402, 2000.0, None, None),  # report of 2 Jan not out yet
            (dt.date(2024, 1, 5), "GC", 202404, 2010.0, None, None),
            (dt.date(2024, 1, 5), "GC", 202402, 2001.0, None, None),  # nearest contract
            (dt.date(2024, 1, 11), "GC", 202402, 2005.0, None, None),
            (dt.date(2024, 1, 12), "GC", 202402, 2020.0, None, None),  # 9 Jan report released
        ]
    )
    doi = cftc_dollar_open_interest(reports, {"GC": "gold"}, prices, INSTRUMENTS, ["GC"], 3)
    # GC multiplier 100: 5 Jan 100 * 100 * 2001; 11 Jan 100 * 100 * 2005; 12 Jan 120 * 100 * 2020
    assert doi.rows() == [
        (dt.date(2024, 1, 5), "GC", 20_010_000.0),
        (dt.date(2024, 1, 11), "GC", 20_050_000.0),
        (dt.date(2024, 1, 12), "GC", 24_240_000.0),
    ]


def test_cftc_source_needs_a_market_for_every_root():
    reports = pl.DataFrame({"report_date": [dt.date(2024, 1, 2)], "market": ["gold"], "open_interest": [1.0]})
    prices = _prices([(dt.date(2024, 1, 5), "GC", 202402, 2000.0, None, None)])
    with pytest.raises(SpecError, match="root SI: magnitude source 'cftc' has no CFTC market"):
        cftc_dollar_open_interest(reports, {"GC": "gold"}, prices, INSTRUMENTS, ["GC", "SI"], 3)
    with pytest.raises(DataError, match="CFTC market 'golden' .* not in the open-interest reports"):
        cftc_dollar_open_interest(reports, {"GC": "golden"}, prices, INSTRUMENTS, ["GC"], 3)


def test_read_cftc_open_interest_rejects_a_missing_file(tmp_path):
    with pytest.raises(DataError, match="absent.csv: no such file"):
        read_cftc_open_interest(tmp_path / "absent.csv")


def test_read_cftc_open_interest_rejects_a_negative_value_naming_its_row(tmp_path):
    path = tmp_path / "cftc.csv"
    path.write_text("report_date,market,open_interest\n2024-01-02,gold,5\n2024-01-09,gold,-5\n")
    with pytest.raises(DataError, match=r"cftc.csv: row 3: empty, unreadable or negative value \(report_date 2024-01-09, market gold"):
        read_cftc_open_interest(path)


def test_read_cftc_open_interest_rejects_an_unreadable_date_and_a_missing_column(tmp_path):
    path = tmp_path / "cftc.csv"
    path.write_text("report_date,market,open_interest\n2024-13-02,gold,5\n")
    with pytest.raises(DataError, match=r"row 2: .*report_date 2024-13-02"):
        read_cftc_open_interest(path)
    path.write_text("report_date,open_interest\n2024-01-02,5\n")
    with pytest.raises(DataError, match=r"columns: missing column\(s\) market"):
        read_cftc_open_interest(path)


@pytest.mark.realdata
def test_read_cftc_open_interest_of_the_shared_metals_file(shared_real_dir):
    reports = read_cftc_open_interest(shared_real_dir / "cftc_open_interest_metals.csv")
    assert reports.schema == pl.Schema({"report_date": pl.Date(), "market": pl.String(), "open_interest": pl.Float64()})
    assert {"copper", "gold", "silver", "palladium", "platinum"} <= set(reports.get_column("market").to_list())
    weekly = reports.filter(pl.col("market") == "gold").get_column("report_date").sort().diff().dt.total_days()
    assert weekly.drop_nulls().median() == 7


# ---- impute_unreported: CFTC open interest where reported, equal shares of the rest -------


def test_unreported_roots_take_the_mean_of_the_reported_full_window_averages():
    # columns A, B reported (averages 1 and 3, full windows), C unreported: C = (1 + 3) / 2 = 2;
    # normalised: A 1/6, B 3/6, C 2/6 = 1/3 = 1/n; A and B share 2/3 = n_R / n as 1 : 3.
    # Row 2: B's window is not full, so only A counts: C = 5 (B keeps its own average 4 and
    # flags). Row 3: no reported root has a full window: C has no average and is not eligible.
    average = np.array([[1.0, 3.0, np.nan], [5.0, 4.0, np.nan], [2.0, np.nan, np.nan]])
    has_average = np.array([[True, True, False], [True, True, False], [True, False, False]])
    full = np.array([[True, True, False], [True, False, False], [False, False, False]])
    imputed, has, full_window = impute_unreported(average, has_average, full, np.array([True, True, False]))
    np.testing.assert_array_equal(imputed[:2], [[1.0, 3.0, 2.0], [5.0, 4.0, 5.0]])
    assert imputed[2, 0] == 2.0 and np.isnan(imputed[2, 1]) and np.isnan(imputed[2, 2])
    np.testing.assert_array_equal(has, [[True, True, True], [True, True, True], [True, False, False]])
    np.testing.assert_array_equal(full_window, [[True, True, True], [True, False, True], [False, False, False]])
    np.testing.assert_allclose(cap_weights(imputed[0], 1.0), [1 / 6, 3 / 6, 2 / 6], rtol=0, atol=1e-15)


def test_imputed_weights_with_a_binding_cap_hand_computed():
    # 4 roots: GOLD 8, COPPER 2 reported; X, Y unreported -> 5 each. Shares 8/20, 2/20, 5/20,
    # 5/20 = 0.4, 0.1, 0.25, 0.25 (X and Y get 1/n = 1/4; the metals share 2/4 as 8 : 2).
    # Cap 0.3: GOLD 0.3, the excess 0.1 shared pro rata over 0.6: COPPER 0.1 * 0.7/0.6 = 0.11667,
    # X, Y 0.25 * 0.7/0.6 = 0.29167.
    imputed, _, _ = impute_unreported(
        np.array([[8.0, 2.0, np.nan, np.nan]]), np.array([[True, True, False, False]]),
        np.array([[True, True, False, False]]), np.array([True, True, False, False]),
    )
    np.testing.assert_array_equal(imputed, [[8.0, 2.0, 5.0, 5.0]])
    np.testing.assert_allclose(cap_weights(imputed[0], 0.3), [0.3, 0.7 / 6, 1.75 / 6, 1.75 / 6], rtol=1e-14)


def test_cftc_fallback_is_refused_outside_the_cftc_source():
    from pydantic import ValidationError

    from indexcalc.families.momentum.spec import MagnitudeSpec

    with pytest.raises(ValidationError, match="cftc_fallback applies to magnitude source 'cftc' only"):
        MagnitudeSpec(source="fixed", fixed_weights={"CL": 1.0}, cftc_fallback="mean_of_reported")
    spec = MagnitudeSpec(source="cftc", cftc_file="x.csv", cftc_markets={"GC": "gold"}, cftc_fallback="mean_of_reported")
    assert spec.cftc_fallback == "mean_of_reported"
