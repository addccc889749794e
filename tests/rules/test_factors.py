"""Macro factor inputs of the copper strategy: transforms, release-date alignment, errors."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexcalc.errors import DataError
from indexcalc.families.copper.factors import factor_inputs, known_values
from indexcalc.families.copper.spec import DEFAULT_FACTORS, FactorSpec

MON, TUE, WED, THU, FRI = (dt.date(2024, 1, day) for day in (8, 9, 10, 11, 12))
NEXT_MON = dt.date(2024, 1, 15)
DAYS = pl.Series("date", [MON, TUE, WED, THU, FRI, NEXT_MON])


def macro(rows: list[tuple[dt.date, str, float]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"date": pl.Date, "series": pl.String, "value": pl.Float64}, orient="row")


def full_macro() -> pl.DataFrame:
    usd = [(day, "usd_index", value) for day, value in zip(DAYS, [100.0, 101.0, 99.0, 99.0, 100.0, 102.0])]
    stocks = [(day, "lme_copper_stocks", value) for day, value in zip(DAYS, [200.0, 210.0, 210.0, 189.0, 189.0, 200.0])]
    # PMI: December's 50.0 released before the window, January's 51.5 released on Wednesday,
    # a revision-free February print 49.0 released on Saturday (known from Monday, the next day).
    pmi = [(dt.date(2024, 1, 2), "china_pmi", 50.0), (WED, "china_pmi", 51.5), (dt.date(2024, 1, 13), "china_pmi", 49.0)]
    return macro(usd + stocks + pmi)


def test_log_returns_and_pmi_difference_by_hand():
    factors = factor_inputs(full_macro(), DAYS, DEFAULT_FACTORS)
    assert factors.columns == ["date", "usd_index", "china_pmi", "lme_copper_stocks"]
    usd = factors.get_column("usd_index").to_list()
    # ln(101/100) = 0.00995033, ln(99/101) = -0.02000067, ln(99/99) = 0, ln(100/99), ln(102/100)
    expected_usd = [None, math.log(1.01), math.log(99 / 101), 0.0, math.log(100 / 99), math.log(1.02)]
    assert usd[0] is None
    assert usd[1:] == pytest.approx(expected_usd[1:], abs=1e-15)
    stocks = factors.get_column("lme_copper_stocks").to_list()
    # ln(210/200) = 0.04879016, 0, ln(189/210) = -0.10536052, 0, ln(200/189) = 0.05657035
    assert stocks[1:] == pytest.approx([math.log(1.05), 0.0, math.log(0.9), 0.0, math.log(200 / 189)], abs=1e-15)
    # PMI forward-filled: 50, 50, 51.5 (Wed release), 51.5, 51.5, 49 (Saturday release, known Monday)
    assert factors.get_column("china_pmi").to_list() == [None, 0.0, 1.5, 0.0, 0.0, -2.5]


def test_pmi_is_used_only_from_its_release_date():
    known = known_values(full_macro(), "china_pmi", DAYS).get_column("value").to_list()
    assert known == [50.0, 50.0, 51.5, 51.5, 51.5, 49.0]


def test_days_before_the_first_value_have_no_factor():
    late = macro([(WED, "usd_index", 100.0), (THU, "usd_index", 110.0)])
    factors = factor_inputs(late, DAYS, [FactorSpec(series="usd_index", transform="log_return")])
    assert factors.get_column("usd_index").to_list()[:3] == [None, None, None]
    assert factors.get_column("usd_index")[3] == pytest.approx(math.log(1.1))


def test_any_user_series_in_the_long_format_can_be_a_factor():
    user = macro([(day, "freight_rate", 10.0 + index) for index, day in enumerate(DAYS)])
    factors = factor_inputs(user, DAYS, [FactorSpec(series="freight_rate", transform="difference")])
    assert factors.get_column("freight_rate").to_list() == [None, 1.0, 1.0, 1.0, 1.0, 1.0]


def test_missing_series_names_the_series():
    with pytest.raises(DataError, match="series china_pmi: macro series missing") as error:
        factor_inputs(full_macro().filter(pl.col("series") != "china_pmi"), DAYS, DEFAULT_FACTORS, source="macro.csv")
    assert str(error.value).startswith("macro.csv: series china_pmi")


def test_non_positive_value_of_a_log_series_is_an_error():
    bad = full_macro().with_columns(
        pl.when((pl.col("series") == "usd_index") & (pl.col("date") == THU)).then(0.0).otherwise(pl.col("value")).alias("value")
    )
    with pytest.raises(DataError, match=f"series usd_index, date {THU}: value 0.0 is not positive"):
        factor_inputs(bad, DAYS, DEFAULT_FACTORS)


def test_duplicated_release_date_is_an_error():
    doubled = pl.concat([full_macro(), macro([(WED, "china_pmi", 52.0)])])
    with pytest.raises(DataError, match=f"series china_pmi, date {WED}: duplicated date"):
        factor_inputs(doubled, DAYS, DEFAULT_FACTORS)


@settings(max_examples=40, deadline=None)
@given(
    release_offsets=st.lists(st.integers(0, 60), min_size=1, max_size=8, unique=True),
    values=st.lists(st.floats(1.0, 100.0), min_size=8, max_size=8),
    cut=st.integers(1, 40),
)
def test_factor_of_day_t_depends_only_on_values_known_by_t(release_offsets, values, cut):
    """Dropping every value released after t leaves the factors of t and earlier unchanged."""
    first = dt.date(2024, 1, 1)
    rows = [(first + dt.timedelta(days=offset), "china_pmi", value) for offset, value in zip(release_offsets, values)]
    rows += [(first + dt.timedelta(days=offset), "usd_index", 100.0 + offset) for offset in range(70)]
    series = macro(rows)
    days = pl.Series("date", [first + dt.timedelta(days=offset) for offset in range(0, 60, 1)])
    factors = [FactorSpec(series="china_pmi", transform="difference"), FactorSpec(series="usd_index", transform="log_return")]
    cut_date = days[cut]
    full = factor_inputs(series, days, factors).filter(pl.col("date") <= cut_date)
    known = series.filter(pl.col("date") <= cut_date)
    if known.filter(pl.col("series") == "china_pmi").is_empty():
        return
    truncated = factor_inputs(known, days, factors).filter(pl.col("date") <= cut_date)
    assert full.equals(truncated)
