"""Relative values (docs/design.md section 4): hand-computed cases, invariants, and macrosynergy's
``make_relative_value(rel_meth="subtract")`` as the oracle (test-only dependency)."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexcalc.errors import DataError
from indexcalc.rules.calendar import rebalance_dates
from indexcalc.families.carry.stages import carry_stages
from indexcalc.families.carry.relative import relative_value
from indexcalc.families.carry.spec import CarryBasketSpec

D1, D2 = dt.date(2021, 1, 29), dt.date(2021, 2, 26)

# D1: CL 1, NG 3, GC -2, SI 0; D2: CL 2, GC 1 (NG and SI missing)
PANEL = pl.DataFrame(
    {
        "date": [D1, D1, D1, D1, D2, D2],
        "root": ["CL", "NG", "GC", "SI", "CL", "GC"],
        "value": [1.0, 3.0, -2.0, 0.0, 2.0, 1.0],
    }
)
GROUPS = pl.DataFrame({"root": ["CL", "NG", "GC", "SI"], "group": ["energy", "energy", "precious", "precious"]})


def as_dict(frame: pl.DataFrame) -> dict[tuple[dt.date, str], float]:
    return {(row["date"], row["root"]): row["relative"] for row in frame.iter_rows(named=True)}


def test_global_relative_subtracts_the_mean_of_the_roots_observed_that_day():
    # D1 mean (1 + 3 - 2 + 0) / 4 = 0.5; D2 mean (2 + 1) / 2 = 1.5
    got = as_dict(relative_value(PANEL, value="value"))
    assert got == pytest.approx(
        {(D1, "CL"): 0.5, (D1, "NG"): 2.5, (D1, "GC"): -2.5, (D1, "SI"): -0.5, (D2, "CL"): 0.5, (D2, "GC"): -0.5}
    )


def test_group_relative_uses_the_sector_mean_and_drops_a_lone_member():
    # D1 energy mean 2, precious mean -1; D2 each group has one member: no relative value
    got = as_dict(relative_value(PANEL, value="value", groups=GROUPS))
    assert got == pytest.approx({(D1, "CL"): -1.0, (D1, "NG"): 1.0, (D1, "GC"): -1.0, (D1, "SI"): 1.0})


def test_a_root_without_a_group_is_a_data_error():
    with pytest.raises(DataError, match="no group for roots NG"):
        relative_value(PANEL, value="value", groups=GROUPS.filter(pl.col("root") != "NG"))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.sampled_from(["CL", "NG", "GC", "SI"]), st.floats(-5, 5, allow_nan=False)),
        min_size=1,
        max_size=16,
        unique_by=lambda row: (row[0], row[1]),
    ),
    st.floats(-3, 3, allow_nan=False),
)
@pytest.mark.slow
def test_relative_values_sum_to_zero_per_basket_and_ignore_a_common_shift(rows, shift):
    panel = pl.DataFrame(
        {
            "date": [dt.date(2021, 1, 1 + day) for day, _, _ in rows],
            "root": [root for _, root, _ in rows],
            "value": [value for _, _, value in rows],
        }
    )
    for groups in (None, GROUPS):
        got = relative_value(panel, value="value", groups=groups)
        keyed = got.join(GROUPS, on="root") if groups is not None else got.with_columns(pl.lit("all").alias("group"))
        sums = keyed.group_by("date", "group").agg(pl.col("relative").sum(), pl.len())
        assert (sums.get_column("relative").abs() < 1e-9).all()
        assert (sums.get_column("len") >= 2).all()
        shifted = relative_value(panel.with_columns(pl.col("value") + shift), value="value", groups=groups)
        assert as_dict(shifted) == pytest.approx(as_dict(got), abs=1e-9)


# --- macrosynergy oracle ---------------------------------------------------------------


def macrosynergy_relative(panel: pl.DataFrame, value: str, groups: pl.DataFrame | None) -> pl.DataFrame:
    pd = pytest.importorskip("pandas")
    panel_module = pytest.importorskip("macrosynergy.panel")
    frame = panel.select("date", "root", value).drop_nulls(value).to_pandas()
    qdf = pd.DataFrame(
        {"cid": frame["root"], "xcat": "ZN", "real_date": pd.to_datetime(frame["date"]), "value": frame[value]}
    )
    baskets = (
        [sorted(frame["root"].unique())]
        if groups is None
        else [members for members in groups.group_by("group").agg("root").get_column("root").to_list()]
    )
    outputs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for members in baskets:
            present = sorted(set(members) & set(frame["root"]))
            if len(present) < 2:
                continue
            outputs.append(
                panel_module.make_relative_value(qdf, xcats=["ZN"], cids=present, basket=present, rel_meth="subtract")
            )
    out = pd.concat(outputs)
    return pl.DataFrame(
        {
            "date": pd.to_datetime(out["real_date"]).to_numpy(),
            "root": out["cid"].astype(str).to_numpy(),
            "oracle": out["value"].to_numpy(),
        }
    ).with_columns(pl.col("date").cast(pl.Date))


def assert_matches_oracle(panel: pl.DataFrame, value: str, groups: pl.DataFrame | None) -> None:
    mine = relative_value(panel, value=value, groups=groups)
    oracle = macrosynergy_relative(panel, value, groups)
    joined = mine.join(oracle, on=["date", "root"], how="full", coalesce=True)
    assert mine.height == oracle.height > 0
    assert joined.get_column("relative").null_count() == 0 and joined.get_column("oracle").null_count() == 0
    assert (joined.get_column("relative") - joined.get_column("oracle")).abs().max() < 1e-9


def test_matches_macrosynergy_on_a_ragged_panel():
    rng = np.random.default_rng(3)
    dates = pl.date_range(dt.date(2019, 1, 1), dt.date(2019, 12, 1), "1mo", eager=True)
    roots = ["CL", "NG", "GC", "SI"]
    panel = pl.DataFrame(
        {
            "date": [day for day in dates for _ in roots],
            "root": roots * dates.len(),
            "value": rng.normal(size=4 * dates.len()),
        }
    ).filter(pl.Series(rng.random(4 * dates.len()) > 0.3))
    assert_matches_oracle(panel, "value", None)
    assert_matches_oracle(panel, "value", GROUPS)


SPEC = CarryBasketSpec(id="T", name="t", construction="ranked", relative_scope="global")


def sector_groups(market) -> pl.DataFrame:
    return pl.DataFrame(
        {"root": list(market.instruments), "group": [instrument.sector for instrument in market.instruments.values()]}
    )


@pytest.mark.parametrize("scope", ["global", "group"])
def test_matches_macrosynergy_on_embedded_market_zscores(embedded_market, embedded_series, scope):
    stages = carry_stages(
        embedded_series, embedded_market.inflation, rebalance_dates(embedded_series.get_column("date")), SPEC
    )
    assert_matches_oracle(stages, "zscore", None if scope == "global" else sector_groups(embedded_market))


@pytest.mark.realdata
@pytest.mark.parametrize("scope", ["global", "group"])
def test_matches_macrosynergy_on_pysystemtrade_zscores(pysystemtrade_market, pysystemtrade_series, scope):
    releases = pl.date_range(dt.date(1970, 1, 15), dt.date(2023, 8, 15), "1mo", eager=True)
    cpi = pl.DataFrame({"date": releases, "cpi": 100.0 * 1.025 ** (np.arange(releases.len()) / 12.0)})
    stages = carry_stages(pysystemtrade_series, cpi, rebalance_dates(pysystemtrade_series.get_column("date")), SPEC)
    assert_matches_oracle(stages, "zscore", None if scope == "global" else sector_groups(pysystemtrade_market))
