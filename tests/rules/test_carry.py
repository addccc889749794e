"""Carry stages (docs/design.md section 4): hand-computed inflation, seasonal and volatility adjustments,
month-end sampling, and the stage chain on a small synthetic panel."""

from __future__ import annotations

import datetime as dt
import math
import warnings

import numpy as np
import polars as pl
import pytest

from indexcalc.errors import DataError
from indexcalc.families.carry.stages import (
    STAGE_COLUMNS,
    carry_stages,
    ewma_volatility,
    ewma_weights,
    sample_month_ends,
    seasonal_adjustment,
    trailing_inflation,
)
from indexcalc.families.carry.spec import CarryBasketSpec


def month_end(month_index: int) -> dt.date:
    """Month-end of month ``month_index`` counted from January 2000 (0)."""
    year, month = 2000 + month_index // 12, month_index % 12 + 1
    return (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1))


# --- stage 2: inflation -----------------------------------------------------------------


def test_trailing_inflation_is_the_annualised_change_over_the_window_known_at_the_date():
    cpi = pl.DataFrame(
        {"date": [dt.date(2020, 1, 15), dt.date(2020, 2, 14), dt.date(2020, 3, 13)], "cpi": [100.0, 101.0, 102.0]}
    )
    dates = pl.Series([dt.date(2020, 2, 28), dt.date(2020, 3, 12), dt.date(2020, 3, 13), dt.date(2020, 3, 31)])
    got = trailing_inflation(cpi, dates, window_months=2)
    # window 2: only the March release (102) has a release two before it (100):
    # (102 / 100) ** (12 / 2) - 1 = 1.02 ** 6 - 1 = 0.126162419264; known from its release date on
    assert got.get_column("inflation").to_list()[:2] == [None, None]
    assert got.get_column("inflation").to_list()[2:] == pytest.approx([1.02**6 - 1] * 2)


def test_twelve_month_inflation_is_the_plain_year_on_year_change():
    releases = [dt.date(2019, month, 10) for month in range(1, 13)] + [dt.date(2020, 1, 10)]
    cpi = pl.DataFrame({"date": releases, "cpi": [100.0 + i for i in range(12)] + [103.0]})
    got = trailing_inflation(cpi, pl.Series([dt.date(2020, 1, 31)]), window_months=12)
    assert got.item(0, "inflation") == pytest.approx(0.03)  # 103 / 100 - 1


# --- stage 3: seasonal adjustment -------------------------------------------------------


def seasonal_panel(values: dict[int, float]) -> pl.DataFrame:
    return pl.DataFrame(
        {"date": [month_end(m) for m in values], "root": "CL", "real_carry": list(values.values())}
    )


def test_seasonal_component_is_the_same_month_mean_minus_the_trailing_mean():
    # Januaries carry 1 (Jan 2001: 3), every other month 0; two years, both required.
    values = {m: (1.0 if m % 12 == 0 else 0.0) for m in range(26)} | {12: 3.0}
    got = seasonal_adjustment(seasonal_panel(values), value="real_carry", years=2, min_years=2)
    by_date = {row["date"]: row for row in got.iter_rows(named=True)}
    # Jan 2002 (m 24): same month (m 12, 0) = (3 + 1) / 2 = 2; trailing m 0..23 = (1 + 3) / 24
    # component 2 - 1/6 = 11/6; adjusted 1 - 11/6 = -5/6
    assert by_date[month_end(24)]["seasonal_component"] == pytest.approx(11 / 6)
    assert by_date[month_end(24)]["seasonal_carry"] == pytest.approx(-5 / 6)
    # Feb 2002 (m 25): same month (m 13, 1) = 0; trailing m 1..24 = (3 + 1) / 24; adjusted 0 + 1/6
    assert by_date[month_end(25)]["seasonal_carry"] == pytest.approx(1 / 6)
    # Dec 2001 (m 23): only 23 earlier months, the window is not complete
    assert by_date[month_end(23)]["seasonal_component"] is None


def test_a_missing_month_is_missing_not_the_previous_month():
    # as above without Jan 2001 (m 12); one year of history suffices (min_years 1)
    values = {m: (1.0 if m % 12 == 0 else 0.0) for m in range(25) if m != 12}
    got = seasonal_adjustment(seasonal_panel(values), value="real_carry", years=2, min_years=1)
    jan_2002 = got.filter(pl.col("date") == month_end(24)).row(0, named=True)
    # same month: only m 0 (1); trailing: 23 of the 24 months, sum 1 -> component 1 - 1/23
    assert jan_2002["seasonal_component"] == pytest.approx(1 - 1 / 23)
    # with two required years the same-month mean has one value only: undefined
    strict = seasonal_adjustment(seasonal_panel(values), value="real_carry", years=2, min_years=2)
    assert strict.filter(pl.col("date") == month_end(24)).item(0, "seasonal_component") is None


def test_a_constant_carry_has_no_seasonal_component():
    got = seasonal_adjustment(seasonal_panel({m: 0.05 for m in range(72)}), value="real_carry", years=5, min_years=5)
    defined = got.drop_nulls("seasonal_component")
    assert defined.height == 12 and defined.get_column("date").min() == month_end(60)
    assert defined.get_column("seasonal_component").abs().max() < 1e-15


# --- stage 4: volatility ---------------------------------------------------------------


def test_ewma_weights_halve_every_half_life_and_sum_to_one():
    # half-life 1 day over 3 days: 0.25 : 0.5 : 1 (oldest first) -> 1/7, 2/7, 4/7
    assert ewma_weights(3, 1.0) == pytest.approx([1 / 7, 2 / 7, 4 / 7])
    weights = ewma_weights(63, 11.0)
    assert sum(weights) == pytest.approx(1.0)
    assert weights[-12] / weights[-1] == pytest.approx(0.5)


def test_ewma_volatility_by_hand():
    days = [dt.date(2020, 1, d) for d in (1, 2, 3, 6, 7)]
    returns = pl.DataFrame({"date": days, "root": "GC", "daily_return": [0.0, 0.01, -0.02, 0.03, -0.01]})
    got = ewma_volatility(returns, half_life_days=1.0, lookback_days=3, annualisation_days=4)
    # the first row is the base date (no return); weights 1/7, 2/7, 4/7; sqrt(4) = 2
    # Jan 6: 2 * (0.01 + 2 * 0.02 + 4 * 0.03) / 7 = 0.34 / 7; Jan 7: 2 * (0.02 + 0.06 + 0.04) / 7
    assert got.get_column("date").to_list() == days
    assert got.get_column("volatility").to_list()[:3] == [None, None, None]
    assert got.get_column("volatility").to_list()[3:] == pytest.approx([0.34 / 7, 0.24 / 7])


def test_a_missing_return_leaves_every_window_holding_it_without_volatility():
    days = [dt.date(2020, 1, d) for d in range(1, 9)]
    returns = pl.DataFrame(
        {"date": days, "root": "GC", "daily_return": [0.0, 0.01, 0.01, None, 0.01, 0.01, 0.01, 0.01]}
    )
    got = ewma_volatility(returns, half_life_days=1.0, lookback_days=2, annualisation_days=1)
    # windows of two returns: (2, 3) defined; (3, 4), (4, 5) hold the gap; (5, 6)... defined again
    # constant |r| = 0.01 gives 0.01 whatever the weights
    assert got.get_column("volatility").to_list() == pytest.approx([None, None, 0.01, None, None, 0.01, 0.01, 0.01])


@pytest.mark.slow
def test_ewma_volatility_matches_macrosynergy_historic_vol_at_month_ends():
    pd = pytest.importorskip("pandas")
    panel_module = pytest.importorskip("macrosynergy.panel")
    rng = np.random.default_rng(11)
    days = pd.bdate_range("2015-01-01", "2015-12-31")
    frames = []
    for position, root in enumerate(["CL", "GC"]):
        values = rng.normal(0, 0.01 * (position + 1), len(days))
        frames.append(pd.DataFrame({"cid": root, "xcat": "XR", "real_date": days, "value": values}))
    qdf = pd.concat(frames, ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        oracle = panel_module.historic_vol(
            qdf, xcat="XR", cids=["CL", "GC"], lback_periods=63, lback_meth="xma", half_life=11,
            est_freq="m", remove_zeros=False, nan_tolerance=0.0,
        )
    month_ends = days.to_series().groupby(days.to_period("M")).max()
    oracle = oracle[oracle["real_date"].isin(month_ends)].dropna()
    # prepend a base-date row per root (no return), as the series frame has
    base = pd.DataFrame({"cid": ["CL", "GC"], "real_date": pd.Timestamp("2014-12-31"), "value": 0.0})
    returns = pl.from_pandas(pd.concat([base, qdf.drop(columns="xcat")])).select(
        pl.col("real_date").cast(pl.Date).alias("date"),
        pl.col("cid").alias("root"),
        pl.col("value").alias("daily_return"),
    )
    mine = ewma_volatility(returns, half_life_days=11, lookback_days=63, annualisation_days=252)
    expected = pl.from_pandas(oracle[["cid", "real_date", "value"]]).select(
        pl.col("real_date").cast(pl.Date).alias("date"), pl.col("cid").cast(pl.String).alias("root"), "value"
    )
    joined = expected.join(mine, on=["date", "root"], how="left")
    assert joined.height == 2 * 10  # month-ends from March 2015 (63 returns) to December 2015
    assert (joined.get_column("volatility") - joined.get_column("value")).abs().max() < 1e-12


# --- month-end sampling ----------------------------------------------------------------


def test_month_end_sampling_takes_each_months_last_non_null_value():
    daily = pl.DataFrame(
        {
            "date": [dt.date(2020, 1, 30), dt.date(2020, 1, 31), dt.date(2020, 2, 27), dt.date(2020, 3, 2)],
            "root": "CO",
            "carry": [0.1, None, 0.2, 0.3],
        }
    )
    month_ends = pl.Series([dt.date(2020, 1, 31), dt.date(2020, 2, 28)])
    got = sample_month_ends(daily, month_ends, ["carry"])
    # January: the 31st is null -> the 30th's 0.1; February: the 27th (the root did not trade on
    # the index month-end, the 28th); March is not a month-end of the index yet
    assert got.rows() == [(dt.date(2020, 1, 31), "CO", 0.1), (dt.date(2020, 2, 28), "CO", 0.2)]


# --- the stage chain -------------------------------------------------------------------

SPEC = CarryBasketSpec(
    id="T", name="t", construction="ranked", relative_scope="global",
    seasonal_years=1, seasonal_min_years=1, vol_lookback_days=20, vol_half_life_days=5, zscore_min_obs=2,
)


def synthetic_series() -> tuple[pl.DataFrame, pl.DataFrame, pl.Series]:
    """Two roots on weekdays of 2000-2003; carry with a seasonal swing; CPI +3% a year."""
    days = pl.date_range(dt.date(2000, 1, 3), dt.date(2003, 12, 31), "1d", eager=True).alias("date")
    days = days.filter(days.dt.weekday() <= 5)
    rng = np.random.default_rng(5)
    frames = []
    for position, root in enumerate(["CL", "GC"]):
        month = days.dt.month().to_numpy()
        carry = 0.02 * position + 0.05 * np.cos(2 * math.pi * month / 12) + rng.normal(0, 0.01, days.len())
        returns = rng.normal(0, 0.01 * (position + 1), days.len())
        returns[0] = 0.0
        frames.append(pl.DataFrame({"date": days, "root": root, "daily_return": returns, "carry": carry}))
    series = pl.concat(frames).with_columns((100 * (1 + pl.col("daily_return")).cum_prod().over("root")).alias("level"))
    releases = pl.date_range(dt.date(1999, 1, 15), dt.date(2003, 12, 15), "1mo", eager=True)
    cpi = pl.DataFrame({"date": releases, "cpi": 100 * 1.03 ** (np.arange(releases.len()) / 12)})
    month_ends = days.to_frame().group_by(pl.col("date").dt.month_start()).agg(pl.col("date").max().alias("last"))
    return series, cpi, month_ends.get_column("last").sort()


def test_stages_chain_each_adjustment_onto_the_previous_one():
    series, cpi, month_ends = synthetic_series()
    stages = carry_stages(series, cpi, month_ends, SPEC)
    assert stages.columns == ["date", "root", *STAGE_COLUMNS]
    assert stages.height == 2 * 48
    full = stages.drop_nulls()
    assert (full.get_column("inflation") - (1.03 - 1)).abs().max() < 1e-12
    assert ((full["nominal_carry"] - full["inflation"]) - full["real_carry"]).abs().max() < 1e-15
    assert ((full["real_carry"] - full["seasonal_component"]) - full["seasonal_carry"]).abs().max() < 1e-15
    assert ((full["seasonal_carry"] / full["volatility"]) - full["vol_adjusted_carry"]).abs().max() < 1e-12
    assert full.get_column("zscore").abs().max() <= SPEC.winsor_threshold
    # seasonal stage from January 2001 (12 earlier month-ends); the panel is then scored from its
    # third month-end (min_obs 2): March 2001
    assert stages.drop_nulls("seasonal_carry").get_column("date").min() == dt.date(2001, 1, 31)
    assert stages.drop_nulls("zscore").get_column("date").min() == dt.date(2001, 3, 30)


def test_the_seasonal_stage_removes_a_regular_calendar_pattern():
    series, cpi, month_ends = synthetic_series()
    stages = carry_stages(series, cpi, month_ends, SPEC).drop_nulls("seasonal_carry")
    # the cosine swing (amplitude 0.05) dominates real carry; after adjustment only noise is left
    assert stages.get_column("real_carry").std() > 0.03
    assert stages.group_by("root").agg(pl.col("seasonal_carry").std()).get_column("seasonal_carry").max() < 0.02


def test_real_carry_needs_an_inflation_series():
    series, _, month_ends = synthetic_series()
    with pytest.raises(DataError, match="no inflation"):
        carry_stages(series, pl.DataFrame(schema={"date": pl.Date, "cpi": pl.Float64}), month_ends, SPEC)
