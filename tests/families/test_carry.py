"""Carry baskets (docs/design.md section 4): signals, risk scaling and levels on small frames by hand, then
the catalogue on the embedded market (and on pysystemtrade) over the full history."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace

import numpy as np
import polars as pl
import pytest

from indexcalc.composite import align_levels, composite_total_return
from indexcalc.data.instruments import load_instruments
from indexcalc.data.market import PRICES_SCHEMA, MarketData, empty_frame
from indexcalc.errors import DataError, SpecError
from indexcalc.families.carry.compute import Universe, basket_signals, compute_carry_basket, risk_scaled_weights
from indexcalc.rules.calendar import rebalance_dates
from indexcalc.families.carry.stages import STAGE_COLUMNS
from indexcalc.collateral import collateral_returns
from indexcalc.families.carry.spec import CarryBasketSpec
from indexcalc.catalogue import load_catalogue, parse_spec

VOL_BAND = (0.08, 0.12)
"""Realised full-history volatility of every basket must land here (target 10%)."""


def realised_volatility(levels: pl.DataFrame) -> float:
    """Annualised standard deviation of the daily returns after the base date."""
    return float(levels.get_column("daily_return").slice(1).std()) * math.sqrt(252)


# --- signals by hand --------------------------------------------------------------------

R = dt.date(2020, 1, 31)


def stages_frame(rows: list[tuple[str, str, float]]) -> pl.DataFrame:
    """One month-end of stages: root, group, zscore; relative values as the family adds them."""
    frame = pl.DataFrame(
        {"date": R, "root": [r[0] for r in rows], "group": [r[1] for r in rows], "zscore": [r[2] for r in rows],
         "volatility": 0.2}
    )
    return frame.with_columns(
        (pl.col("zscore") - pl.col("zscore").mean()).alias("relative_global"),
        pl.when(pl.len().over("group") >= 2).then(pl.col("zscore") - pl.col("zscore").mean().over("group")).alias(
            "relative_group"
        ),
    )


# seven roots; groups of 3 (energy), 3 (grains) and 1 (softs: no intra-group value)
SEVEN = stages_frame(
    [("CL", "energy", 1.5), ("NG", "energy", -0.5), ("CO", "energy", 0.2), ("C", "grains", -2.0),
     ("W", "grains", 0.4), ("S", "grains", 2.0), ("KC", "softs", 0.9)]
)


def spec(**fields) -> CarryBasketSpec:
    return CarryBasketSpec(id="T", name="t", **({"construction": "ranked", "relative_scope": "global"} | fields))


def signals_by_root(frame: pl.DataFrame) -> dict[str, float]:
    return dict(zip(frame.get_column("root").to_list(), frame.get_column("signal").to_list()))


def test_ranked_global_is_long_the_top_third_and_short_the_bottom_third():
    # N = 7 -> floor(7/3) = 2 each side; ranking by z: S 2.0, CL 1.5, KC 0.9, W 0.4, CO 0.2, NG -0.5, C -2.0
    got = signals_by_root(basket_signals(SEVEN, spec()))
    assert got == {"S": 1.0, "CL": 1.0, "KC": 0.0, "W": 0.0, "CO": 0.0, "NG": -1.0, "C": -1.0}


def test_ranked_group_holds_one_long_and_one_short_per_group_and_skips_a_lone_root():
    # energy: CL top, NG bottom; grains: S top, C bottom; softs has one root: no relative signal
    got = signals_by_root(basket_signals(SEVEN, spec(relative_scope="group")))
    assert got == {"CL": 1.0, "CO": 0.0, "NG": -1.0, "S": 1.0, "W": 0.0, "C": -1.0}


def test_ranked_two_root_scope_is_one_long_one_short():
    two = stages_frame([("GC", "precious_metals", 0.3), ("SI", "precious_metals", 0.1)])
    assert signals_by_root(basket_signals(two, spec(relative_scope="group"))) == {"GC": 1.0, "SI": -1.0}


def test_proportional_signal_is_the_relative_zscore():
    # global mean z = (1.5 - 0.5 + 0.2 - 2 + 0.4 + 2 + 0.9) / 7 = 2.5 / 7
    got = signals_by_root(basket_signals(SEVEN, spec(construction="proportional")))
    assert got["CL"] == pytest.approx(1.5 - 2.5 / 7)
    assert sum(got.values()) == pytest.approx(0.0)
    grouped = signals_by_root(basket_signals(SEVEN, spec(construction="proportional", relative_scope="group")))
    assert grouped["CL"] == pytest.approx(1.5 - 1.2 / 3) and "KC" not in grouped


def test_managed_long_signal_is_the_directional_zscore_plus_the_shift():
    got = signals_by_root(basket_signals(SEVEN, spec(construction="managed_long", relative_scope=None)))
    assert got == pytest.approx({"CL": 2.5, "NG": 0.5, "CO": 1.2, "C": -1.0, "W": 1.4, "S": 3.0, "KC": 1.9})


def test_spec_rejects_a_scope_that_does_not_fit_the_construction():
    with pytest.raises(SpecError, match="relative_scope must be omitted"):
        parse_spec(
            {"id": "X", "kind": "carry_basket", "name": "x", "construction": "managed_long", "relative_scope": "global"}
        )
    with pytest.raises(SpecError, match="needs relative_scope"):
        parse_spec({"id": "X", "kind": "carry_basket", "name": "x", "construction": "ranked"})


# --- risk scaling by hand ---------------------------------------------------------------

DAYS = [dt.date(2020, 1, d) for d in (27, 28, 29, 30, 31)]


# a 3-day window is below the spec's minimum: model_copy skips validation for the hand cases
THREE_DAY_WINDOW = CarryBasketSpec(id="T", name="t", construction="ranked", relative_scope="global").model_copy(
    update={"covariance_window_days": 3}
)


def tiny_universe() -> Universe:
    # daily returns A: 0, .01, -.01, .02, 0; B: 0, 0, .02, -.01, .01
    returns = {"A": [0.0, 0.01, -0.01, 0.02, 0.0], "B": [0.0, 0.0, 0.02, -0.01, 0.01]}
    frames = [
        pl.DataFrame({"date": DAYS, "root": root, "level": 100 * np.cumprod(1 + np.array(values))})
        for root, values in returns.items()
    ]
    return Universe.from_series(pl.concat(frames), pl.Series(DAYS))


def test_universe_levels_are_the_composite_alignment():
    # B misses the 28th and starts on the 27th... A starts on the 28th: forward fill, nulls before
    levels = pl.DataFrame(
        {"date": [DAYS[1], DAYS[2], DAYS[4], DAYS[0], DAYS[2], DAYS[3]], "root": ["A"] * 3 + ["B"] * 3,
         "level": [100.0, 101.0, 102.0, 50.0, 51.0, 52.0]}
    )
    universe = Universe.from_series(levels, pl.Series(DAYS))
    expected = align_levels(levels, pl.Series(DAYS))
    aligned = universe.levels.to_long("level")
    assert aligned.filter(pl.col("root") == "A").get_column("level").to_list() == [None, 100.0, 101.0, 101.0, 102.0]
    assert aligned.filter(pl.col("root") == "B").get_column("level").to_list() == [50.0, 50.0, 51.0, 52.0, 52.0]
    assert aligned.sort("root", "date").equals(expected.sort("root", "date").select(aligned.columns))
    # returns: A 0 (no level yet), 0, .01, 0 (forward-filled), 102/101 - 1; B 0, 0, .02, 51 -> 52, 0
    assert universe.returns[:, 0] == pytest.approx([0.0, 0.0, 0.01, 0.0, 102 / 101 - 1])
    assert universe.returns[:, 1] == pytest.approx([0.0, 0.0, 0.02, 52 / 51 - 1, 0.0])


def test_basket_is_scaled_to_the_target_from_the_trailing_covariance():
    # window of 3 returns: on the 29th only 2 returns exist (into the 28th and 29th), so that
    # rebalance gets no weights. On the 30th: positions A +1 / 0.1 = 10, B -1 / 0.2 = -5; the
    # basket's returns into the 28th, 29th and 30th:
    #   10 * .01 - 5 * 0 = .1;  10 * -.01 - 5 * .02 = -.2;  10 * .02 - 5 * -.01 = .25
    # mean .05, sample variance (.05^2 + .25^2 + .2^2) / 2 = .0525
    # ex-ante vol sqrt(252 * .0525) = 3.637306; scale .10 / 3.637306 = .0274929
    signals = pl.DataFrame(
        {"date": [DAYS[2], DAYS[2], DAYS[3], DAYS[3]], "root": ["A", "B"] * 2, "signal": [1.0, -1.0] * 2,
         "volatility": [0.1, 0.2] * 2}
    )
    schedule = pl.DataFrame({"date": [DAYS[2], DAYS[3]], "effective_date": [DAYS[3], DAYS[4]]})
    got = risk_scaled_weights(signals, tiny_universe(), schedule, THREE_DAY_WINDOW)
    assert got.get_column("date").unique().to_list() == [DAYS[3]]
    scale = 0.10 / math.sqrt(252 * 0.0525)
    assert got.get_column("scale").to_list() == pytest.approx([scale, scale])
    assert got.get_column("weight").to_list() == pytest.approx([10 * scale, -5 * scale])
    assert got.get_column("effective_date").to_list() == [DAYS[4]] * 2


def test_all_zero_positions_make_a_flat_basket_not_a_missing_one():
    signals = pl.DataFrame({"date": [DAYS[3]] * 2, "root": ["A", "B"], "signal": [0.0, 0.0], "volatility": [0.1, 0.2]})
    schedule = pl.DataFrame({"date": [DAYS[3]], "effective_date": [DAYS[4]]})
    got = risk_scaled_weights(signals, tiny_universe(), schedule, THREE_DAY_WINDOW)
    assert got.get_column("weight").to_list() == [0.0, 0.0]


# --- the family on a small synthetic market ---------------------------------------------

ROOTS = ("CL", "NG", "GC", "SI", "C", "W")
SMALL = dict(
    universe=ROOTS, seasonal_years=1, seasonal_min_years=1, vol_lookback_days=20, vol_half_life_days=5.0,
    zscore_min_obs=2, covariance_window_days=40,
)


def small_market() -> tuple[MarketData, pl.DataFrame, pl.DataFrame]:
    """Six roots (three sectors) on weekdays of 2000-2004 with random carry and returns."""
    days = pl.date_range(dt.date(2000, 1, 3), dt.date(2004, 12, 31), "1d", eager=True).alias("date")
    days = days.filter(days.dt.weekday() <= 5)
    rng = np.random.default_rng(21)
    frames = []
    for position, root in enumerate(ROOTS):
        returns = rng.normal(0.0, 0.008 * (1 + position % 3), days.len())
        returns[0] = 0.0
        carry = np.cumsum(rng.normal(0, 0.01, days.len())) + 0.02 * position
        frames.append(pl.DataFrame({"date": days, "root": root, "daily_return": returns, "carry": carry}))
    series = pl.concat(frames).with_columns((100 * (1 + pl.col("daily_return")).cum_prod().over("root")).alias("level"))
    releases = pl.date_range(dt.date(1999, 1, 15), dt.date(2004, 12, 15), "1mo", eager=True)
    market = MarketData(
        prices=empty_frame(PRICES_SCHEMA),
        instruments=load_instruments(),
        inflation=pl.DataFrame({"date": releases, "cpi": 100 * 1.02 ** (np.arange(releases.len()) / 12)}),
        rates=pl.DataFrame({"date": days, "tbill": 0.03}),
    )
    return market, series, collateral_returns(market.rates, days)


@pytest.fixture(scope="module")
def small_results():
    market, series, collateral = small_market()
    specs = [
        CarryBasketSpec(id=f"{name}-{kind}", name=name, construction=construction, relative_scope=scope,
                        return_type=kind, **SMALL)
        for name, construction, scope in [("RG", "ranked", "global"), ("RP", "ranked", "group"),
                                          ("PG", "proportional", "global"), ("ML", "managed_long", None)]
        for kind in ("er", "tr")
    ]
    return compute_carry_basket(specs, market, series, collateral), series, collateral


def test_every_spec_gets_levels_weights_stages_and_analytics(small_results):
    results, _, _ = small_results
    assert len(results) == 8
    for result in results.values():
        assert result.levels.columns == ["date", "level", "daily_return"]
        assert result.levels.item(0, "level") == result.spec.base_value
        assert {"date", "effective_date", "root", "weight", "signal", "volatility", "position", "scale"} <= set(
            result.weights.columns
        )
        stages = result.tables["carry_stages"]
        assert set(STAGE_COLUMNS) | {"group", "relative_global", "relative_group", "signal"} <= set(stages.columns)
        assert result.tables["analytics"].item(0, "period") == "full"


def test_weights_are_the_scaled_inverse_volatility_signals_fixed_a_day_before_they_act(small_results):
    results, series, _ = small_results
    weights = results["RG-er"].weights
    assert ((weights["scale"] * weights["signal"] / weights["volatility"]) - weights["weight"]).abs().max() < 1e-15
    axis = series.get_column("date").unique().sort()
    following = pl.DataFrame({"date": axis, "next": axis.shift(-1)})
    lagged = weights.join(following, on="date")
    assert (lagged["effective_date"] == lagged["next"]).all()
    # rebalances are the last axis date of each month, every month from the first one on
    month_ends = rebalance_dates(axis)
    rebalances = weights.get_column("date").unique().sort()
    assert rebalances.to_list() == month_ends.filter(month_ends >= rebalances.min()).to_list()


def test_ex_ante_volatility_of_each_rebalance_is_the_target(small_results):
    # recompute the sample covariance of the 40 daily returns up to each rebalance with numpy
    results, series, _ = small_results
    weights = results["PG-er"].weights
    returns = series.pivot(on="root", index="date", values="daily_return").sort("date")
    for date in weights.get_column("date").unique().sort().gather([0, 10, -1]).to_list():
        window = returns.filter(pl.col("date") <= date).tail(40)
        held = weights.filter(pl.col("date") == date)
        matrix = window.select(held.get_column("root").to_list()).to_numpy()
        covariance = np.cov(matrix, rowvar=False, ddof=1)
        w = held.get_column("weight").to_numpy()
        assert math.sqrt(252 * w @ covariance @ w) == pytest.approx(0.10, rel=1e-9)


def test_a_root_enters_only_once_every_stage_is_defined(small_results):
    results, _, _ = small_results
    stages = results["ML-er"].tables["carry_stages"]
    signalled = stages.drop_nulls("signal")
    assert signalled.select(pl.col(list(STAGE_COLUMNS)).null_count()).sum_horizontal().item() == 0
    assert stages.filter(pl.col("seasonal_carry").is_null() & pl.col("signal").is_not_null()).height == 0


def test_total_return_is_the_excess_return_basket_plus_collateral(small_results):
    results, _, collateral = small_results
    excess, total = results["RP-er"], results["RP-tr"]
    assert excess.weights.equals(total.weights)
    expected = composite_total_return(excess.levels, collateral, total.spec.base_value)
    assert (expected["level"] - total.levels["level"]).abs().max() < 1e-9
    assert total.levels.item(-1, "level") > excess.levels.item(-1, "level")  # 3% collateral


def test_ranked_baskets_hold_a_third_long_and_a_third_short(small_results):
    results, _, _ = small_results
    counts = results["RG-er"].weights.group_by("date").agg(
        (pl.col("weight") > 0).sum().alias("long"), (pl.col("weight") < 0).sum().alias("short")
    )
    assert (counts["long"] == 2).all() and (counts["short"] == 2).all()  # 6 roots -> 2 and 2


def test_too_short_a_history_is_a_data_error():
    market, series, collateral = small_market()
    short = series.filter(pl.col("date") < dt.date(2000, 9, 1))
    with pytest.raises(DataError, match="index RG: no month-end has a complete carry signal"):
        basket = CarryBasketSpec(id="RG", name="r", construction="ranked", relative_scope="global", **SMALL)
        compute_carry_basket([basket], market, short, collateral)


# --- the catalogue on the embedded market, full history ---------------------------------


def carry_catalogue() -> list[CarryBasketSpec]:
    return [spec for spec in load_catalogue() if spec.kind == "carry_basket"]


def test_catalogue_lists_the_five_baskets_in_er_and_tr():
    specs = carry_catalogue()
    ids = {spec.id for spec in specs}
    for basket in ("RANK-GLOBAL", "RANK-GROUP", "PROP-GLOBAL", "PROP-GROUP", "MLONG"):
        assert {f"CARRY-{basket}-ER", f"CARRY-{basket}-TR"} <= ids
    by_id = {spec.id: spec for spec in specs}
    for spec in specs:
        if spec.return_type == "tr":
            twin = by_id[spec.id[:-3] + "-ER"]
            assert spec.model_dump(exclude={"id", "name", "objective", "return_type"}) == twin.model_dump(
                exclude={"id", "name", "objective", "return_type"}
            )
        assert spec.objective


@pytest.fixture(scope="module")
def embedded_results(embedded_market, embedded_series):
    collateral = collateral_returns(embedded_market.rates, embedded_series.get_column("date").unique().sort())
    return compute_carry_basket(carry_catalogue(), embedded_market, embedded_series, collateral)


def test_embedded_baskets_realise_about_the_volatility_target(embedded_results):
    for index_id, result in embedded_results.items():
        assert VOL_BAND[0] <= realised_volatility(result.levels) <= VOL_BAND[1], index_id
        assert result.levels.height > 252 * 15, index_id  # 1995 data: baskets from 2002


def test_embedded_analytics_are_well_formed(embedded_results):
    for result in embedded_results.values():
        full = result.tables["analytics"].row(0, named=True)
        assert full["observations"] > 1000
        assert -1 <= full["pearson"] <= 1 and 0 <= full["pearson_pvalue"] <= 1
        assert -1 <= full["kendall"] <= 1 and 0 <= full["kendall_pvalue"] <= 1
        assert 0 <= full["balanced_accuracy"] <= 1 and 0 <= full["share_years_balanced_accuracy_above_half"] <= 1
        assert full["years"] >= 20


def test_embedded_intra_group_baskets_are_sector_neutral_in_signal(embedded_results):
    stages = embedded_results["CARRY-PROP-GROUP-ER"].tables["carry_stages"].drop_nulls("signal")
    sums = stages.group_by("date", "group").agg(pl.col("signal").sum())
    assert sums.get_column("signal").abs().max() < 1e-9


@pytest.mark.realdata
def test_pysystemtrade_baskets_realise_about_the_volatility_target(pysystemtrade_market, pysystemtrade_series):
    # no CPI in the pysystemtrade files: a steady 2.5% a year stands in (it shifts real carry only)
    releases = pl.date_range(dt.date(1970, 1, 15), dt.date(2023, 8, 15), "1mo", eager=True)
    market = replace(
        pysystemtrade_market,
        inflation=pl.DataFrame({"date": releases, "cpi": 100.0 * 1.025 ** (np.arange(releases.len()) / 12.0)}),
    )
    axis = pysystemtrade_series.get_column("date").unique().sort()
    collateral = pl.DataFrame({"date": axis, "collateral_return": 0.0})
    results = compute_carry_basket(carry_catalogue(), market, pysystemtrade_series, collateral)
    for index_id, result in results.items():
        assert VOL_BAND[0] <= realised_volatility(result.levels) <= VOL_BAND[1], index_id
    # roots enter one by one (data from 1972 to 2007), each at its first scored month-end
    managed = results["CARRY-MLONG-ER"]
    entries = managed.weights.group_by("root").agg(pl.col("date").min().alias("entry"))
    scored = managed.tables["carry_stages"].drop_nulls("zscore").group_by("root").agg(pl.col("date").min())
    assert entries.get_column("entry").n_unique() > 5
    first_rebalance = managed.weights.get_column("date").min()
    expected = scored.with_columns(pl.max_horizontal("date", pl.lit(first_rebalance)).alias("expected"))
    assert entries.join(expected, on="root").filter(pl.col("entry") != pl.col("expected")).height == 0
