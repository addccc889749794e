"""The pipeline: which catalogue indexes a market can serve, and one calculation for all."""

from __future__ import annotations

import dataclasses
import datetime as dt

import polars as pl
import pytest

from indexcalc.pipeline import computable, rebuild_all
from indexcalc.catalogue import load_catalogue


def reasons(skipped) -> dict[str, str]:
    return {entry.index_id: entry.reason for entry in skipped}


def test_the_embedded_market_serves_the_whole_catalogue(embedded_market):
    catalogue = load_catalogue()
    kept, skipped = computable(catalogue, embedded_market)
    assert skipped == []
    assert [spec.id for spec in kept] == [spec.id for spec in catalogue]
    assert {spec.kind for spec in kept} == {"momentum", "carry_basket", "base_metals", "copper_macro"}


def test_a_market_without_cpi_skips_the_carry_baskets_with_the_reason(embedded_market):
    no_cpi = dataclasses.replace(embedded_market, inflation=embedded_market.inflation.clear())
    kept, skipped = computable(load_catalogue(), no_cpi)
    carry = {spec.id for spec in load_catalogue() if spec.kind == "carry_basket"}
    assert set(reasons(skipped)) == carry
    assert all("no inflation (CPI)" in reason for reason in reasons(skipped).values())
    assert not carry & {spec.id for spec in kept}


def test_a_history_too_short_for_a_carry_signal_skips_the_baskets_and_a_long_enough_one_computes(embedded_market):
    carry = [spec for spec in load_catalogue() if spec.kind == "carry_basket"][:1]
    # 1995-01 to 2002-02 is 85 months; inflation 12 + seasonal 60 + min_obs 12 + 2 = 86 needed
    short = embedded_market.up_to(dt.date(2002, 2, 28))
    kept, skipped = computable(carry, short)
    assert kept == [] and "needs about 86 months" in skipped[0].reason
    enough = embedded_market.up_to(dt.date(2002, 3, 29))
    kept, skipped = computable(carry, enough)
    assert skipped == []
    levels = rebuild_all(enough, kept)[carry[0].id].levels
    assert levels.height > 0 and levels.get_column("level").is_finite().all()


def test_pysystemtrade_data_skips_what_it_cannot_serve_and_says_why(pysystemtrade_market):
    kept, skipped = computable(load_catalogue(), pysystemtrade_market)
    why = reasons(skipped)
    assert kept == []
    assert "no open interest" in why["LS-ER"]
    assert "roots not in the market data: HG, LA, LL, LN, LX" == why["BM-IV-ER"]
    assert "no inflation (CPI)" in why["CARRY-RANK-GLOBAL-ER"]
    assert why["CU-MACRO-ER"] == "no root of the market data is in its universe"


@pytest.mark.slow
def test_rebuild_all_returns_every_index_in_catalogue_order_with_levels_from_its_base_value(embedded_market):
    specs = [spec for spec in load_catalogue() if spec.id in {"LO-ER", "BM-EQ-ER", "CU-MACRO-ER"}]
    results = rebuild_all(embedded_market, specs)
    assert list(results) == [spec.id for spec in specs]
    for spec in specs:
        levels = results[spec.id].levels
        assert levels.columns == ["date", "level", "daily_return"]
        assert levels.get_column("level")[0] == spec.base_value
        assert levels.get_column("date").is_sorted() and levels.get_column("date").n_unique() == levels.height
        # daily_return is the level's own day-on-day change
        implied = levels.get_column("level") / levels.get_column("level").shift(1) - 1
        assert (implied - levels.get_column("daily_return")).abs().drop_nulls().max() < 1e-12
        assert results[spec.id].weights.height > 0
    assert isinstance(results["LO-ER"].weights, pl.DataFrame)
