"""Sequential z-scores around zero (docs/design.md section 4): hand-computed cases, properties, and
macrosynergy's ``make_zn_scores`` as the oracle (test-only dependency, pandas < 3)."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexcalc.families.carry.stages import carry_stages
from indexcalc.families.carry.zscore import sequential_zn_scores
from indexcalc.families.carry.spec import CarryBasketSpec

D1, D2, D3 = dt.date(2020, 1, 31), dt.date(2020, 2, 28), dt.date(2020, 3, 31)

# A: 1, -2, 4 on D1, D2, D3; B: 3 on D1, missing on D2, -1 on D3.
SMALL = pl.DataFrame(
    {"date": [D1, D2, D3, D1, D3], "root": ["A", "A", "A", "B", "B"], "value": [1.0, -2.0, 4.0, 3.0, -1.0]}
)


def scores(panel: pl.DataFrame, **options) -> dict[tuple[dt.date, str], float]:
    arguments = {"value": "value", "min_obs": 1, "in_sample_initial": False, "pan_weight": 1.0, "threshold": None}
    frame = sequential_zn_scores(panel, **(arguments | options))
    return {(row["date"], row["root"]): row["zscore"] for row in frame.iter_rows(named=True)}


def test_panel_scale_is_the_pooled_expanding_mean_absolute_value():
    # pooled |x|: D1 1+3 = 4 (n 2), D2 2 (n 3 in total), D3 4+1 (n 5 in total)
    # MAD: D1 not estimated (row 0 < min_obs 1), D2 6/3 = 2, D3 11/5 = 2.2
    got = scores(SMALL)
    assert got.keys() == {(D2, "A"), (D3, "A"), (D3, "B")}
    assert got[(D2, "A")] == pytest.approx(-2.0 / 2.0)
    assert got[(D3, "A")] == pytest.approx(4.0 / 2.2)
    assert got[(D3, "B")] == pytest.approx(-1.0 / 2.2)


def test_in_sample_initial_scores_the_first_dates_with_the_first_estimate():
    # D1 uses the D2 scale 2: A 1/2, B 3/2
    got = scores(SMALL, in_sample_initial=True)
    assert got[(D1, "A")] == pytest.approx(0.5)
    assert got[(D1, "B")] == pytest.approx(1.5)
    assert got[(D3, "A")] == pytest.approx(4.0 / 2.2)


def test_root_scale_uses_each_roots_own_history():
    # A: cumulative |x| 1, 3, 7 over 1, 2, 3 obs -> MAD D2 1.5, D3 7/3
    # B: observations D1 (3), D3 (1): its row 1 is D3, MAD (3 + 1) / 2 = 2
    got = scores(SMALL, pan_weight=0.0)
    assert got.keys() == {(D2, "A"), (D3, "A"), (D3, "B")}
    assert got[(D2, "A")] == pytest.approx(-2.0 / 1.5)
    assert got[(D3, "A")] == pytest.approx(4.0 / (7.0 / 3.0))
    assert got[(D3, "B")] == pytest.approx(-0.5)


def test_pan_weight_mixes_panel_and_root_scores_linearly():
    got = scores(SMALL, pan_weight=0.25)
    assert got[(D3, "A")] == pytest.approx(0.25 * 4.0 / 2.2 + 0.75 * 4.0 / (7.0 / 3.0))
    assert got[(D3, "B")] == pytest.approx(0.25 * -1.0 / 2.2 + 0.75 * -0.5)


def test_scores_are_winsorised_at_the_threshold():
    # D3 A = 1.818... is contained at 1.5; the others are inside
    got = scores(SMALL, threshold=1.5)
    assert got[(D3, "A")] == 1.5
    assert got[(D2, "A")] == pytest.approx(-1.0)


def test_min_obs_beyond_the_history_scores_nothing():
    assert scores(SMALL, min_obs=3) == {}


panels = st.lists(
    st.tuples(
        st.integers(0, 11), st.sampled_from("ABC"), st.floats(-50, 50, allow_nan=False).filter(lambda x: abs(x) > 1e-6)
    ),
    min_size=1,
    max_size=30,
    unique_by=lambda row: (row[0], row[1]),
)


def panel_of(rows) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "date": [dt.date(2010 + month // 12, month % 12 + 1, 1) for month, _, _ in rows],
            "root": [root for _, root, _ in rows],
            "value": [value for _, _, value in rows],
        }
    )


@settings(max_examples=60, deadline=None)
@given(panels, st.sampled_from([0.0, 0.5, 1.0]), st.floats(0.1, 100))
@pytest.mark.slow
def test_scores_are_bounded_sign_preserving_and_scale_free(rows, pan_weight, factor):
    panel = panel_of(rows)
    options = {"min_obs": 0, "pan_weight": pan_weight, "threshold": 2.0}
    got = scores(panel, **options)
    scaled = scores(panel.with_columns(pl.col("value") * factor), **options)
    values = {(row[0], row[1]): row[2] for row in panel.iter_rows()}
    assert got.keys() == scaled.keys()
    for key, score in got.items():
        assert abs(score) <= 2.0
        assert np.sign(score) == np.sign(values[key])
        assert scaled[key] == pytest.approx(score, rel=1e-9, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(panels, st.integers(0, 11), st.sampled_from([0.0, 1.0]))
def test_sequential_scores_do_not_look_ahead(rows, cut_month, pan_weight):
    # scoring the panel cut at a date gives the same scores up to that date
    panel = panel_of(rows)
    cut = dt.date(2010, cut_month + 1, 1)
    options = {"min_obs": 2, "pan_weight": pan_weight, "threshold": 2.0}
    full = scores(panel, **options)
    truncated = scores(panel.filter(pl.col("date") <= cut), **options)
    assert truncated == pytest.approx({key: value for key, value in full.items() if key[0] <= cut})


# --- macrosynergy oracle ---------------------------------------------------------------


def macrosynergy_zn(panel: pl.DataFrame, value: str, **options) -> pl.DataFrame:
    """make_zn_scores on a month-end panel, with each date stamped at its business month-end
    (so that macrosynergy's est_freq="M" re-estimates at every panel date)."""
    pd = pytest.importorskip("pandas")
    panel_module = pytest.importorskip("macrosynergy.panel")
    frame = panel.select("date", "root", value).drop_nulls(value).to_pandas()
    stamped = pd.to_datetime(frame["date"]).dt.to_period("M").dt.start_time + pd.offsets.BMonthEnd(0)
    qdf = pd.DataFrame({"cid": frame["root"], "xcat": "CARRY", "real_date": stamped, "value": frame[value]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = panel_module.make_zn_scores(qdf, xcat="CARRY", neutral="zero", sequential=True, est_freq="M", **options)
    month = pl.Series(pd.to_datetime(out["real_date"]).dt.to_period("M").dt.start_time.to_numpy()).cast(pl.Date)
    return pl.DataFrame({"month": month, "root": out["cid"].astype(str).to_numpy(), "oracle": out["value"].to_numpy()})


def assert_matches_oracle(
    panel: pl.DataFrame, value: str, *, min_obs: int, iis: bool, pan_weight: float, thresh: float
) -> None:
    mine = sequential_zn_scores(
        panel, value=value, min_obs=min_obs, in_sample_initial=iis, pan_weight=pan_weight, threshold=thresh
    ).with_columns(pl.col("date").dt.truncate("1mo").alias("month"))
    oracle = macrosynergy_zn(panel, value, min_obs=min_obs, iis=iis, pan_weight=pan_weight, thresh=thresh)
    joined = mine.join(oracle, on=["month", "root"], how="full")
    assert mine.height == oracle.height > 0
    assert joined.get_column("zscore").null_count() == 0 and joined.get_column("oracle").null_count() == 0
    assert (joined.get_column("zscore") - joined.get_column("oracle")).abs().max() < 1e-9


def staggered_panel(seed: int) -> pl.DataFrame:
    """Four roots starting 0, 0, 10 and 30 months into an 80-month panel, different scales."""
    rng = np.random.default_rng(seed)
    months = pl.date_range(dt.date(2000, 1, 31), dt.date(2006, 8, 31), "1mo", eager=True).dt.month_end()
    frames = [
        pl.DataFrame({"date": months[start:], "root": root, "value": rng.normal(0.2 * i, 1 + i, months.len() - start)})
        for i, (root, start) in enumerate([("A", 0), ("B", 0), ("C", 10), ("D", 30)])
    ]
    return pl.concat(frames)


@pytest.mark.parametrize("pan_weight", [1.0, 0.5, 0.0])
@pytest.mark.parametrize("iis", [False, True])
@pytest.mark.parametrize("min_obs", [0, 12])
def test_matches_macrosynergy_on_a_staggered_panel(pan_weight, iis, min_obs):
    assert_matches_oracle(staggered_panel(7), "value", min_obs=min_obs, iis=iis, pan_weight=pan_weight, thresh=2.0)


DEFAULT_SPEC = CarryBasketSpec(id="T", name="t", construction="ranked", relative_scope="global")


@pytest.fixture(scope="module")
def embedded_stages(embedded_market, embedded_series):
    from indexcalc.rules.calendar import rebalance_dates

    month_ends = rebalance_dates(embedded_series.get_column("date"))
    return carry_stages(embedded_series, embedded_market.inflation, month_ends, DEFAULT_SPEC)


@pytest.mark.parametrize("pan_weight", [1.0, 0.5])
def test_matches_macrosynergy_on_the_embedded_market_carry(embedded_stages, pan_weight):
    # the stage the baskets score: vol-adjusted real seasonally adjusted carry, spec defaults
    assert_matches_oracle(
        embedded_stages,
        "vol_adjusted_carry",
        min_obs=DEFAULT_SPEC.zscore_min_obs,
        iis=False,
        pan_weight=pan_weight,
        thresh=2.0,
    )


def test_carry_stage_zscore_column_is_the_oracles_score(embedded_stages):
    min_obs = DEFAULT_SPEC.zscore_min_obs
    oracle = macrosynergy_zn(embedded_stages, "vol_adjusted_carry", min_obs=min_obs, iis=False, pan_weight=1.0, thresh=2.0)
    joined = embedded_stages.with_columns(pl.col("date").dt.truncate("1mo").alias("month")).join(
        oracle, on=["month", "root"], how="inner"
    )
    assert joined.height == embedded_stages.get_column("zscore").drop_nulls().len() > 1000
    assert (joined.get_column("zscore") - joined.get_column("oracle")).abs().max() < 1e-9


def synthetic_cpi(first: dt.date, last: dt.date) -> pl.DataFrame:
    """pysystemtrade has no CPI: 2.5% a year, released mid-month (only real carry depends on it)."""
    releases = pl.date_range(first, last, "1mo", eager=True)
    return pl.DataFrame({"date": releases, "cpi": 100.0 * 1.025 ** (np.arange(releases.len()) / 12.0)})


@pytest.mark.realdata
@pytest.mark.parametrize("pan_weight", [1.0, 0.0])
@pytest.mark.parametrize("iis", [False, True])
def test_matches_macrosynergy_on_pysystemtrade_carry(pysystemtrade_series, pan_weight, iis):
    from indexcalc.rules.calendar import rebalance_dates

    month_ends = rebalance_dates(pysystemtrade_series.get_column("date"))
    stages = carry_stages(
        pysystemtrade_series, synthetic_cpi(dt.date(1970, 1, 15), dt.date(2023, 8, 15)), month_ends, DEFAULT_SPEC
    )
    # roots enter at different dates (1977 to 2012): the staggered case on real carry
    entries = stages.drop_nulls("vol_adjusted_carry").group_by("root").agg(pl.col("date").min())
    assert entries.get_column("date").n_unique() > 3
    assert_matches_oracle(stages, "vol_adjusted_carry", min_obs=12, iis=iis, pan_weight=pan_weight, thresh=2.0)
