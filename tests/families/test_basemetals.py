"""The base-metals basket family (indexcalc.families.basemetals.compute) on a small synthetic market and
on the embedded market; its spec and catalogue."""

from __future__ import annotations

import datetime as dt
import math
import time

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from indexcalc.cli import main
from indexcalc.composite import align_levels
from indexcalc.data.instruments import load_instruments
from indexcalc.data.market import PRICES_SCHEMA, MarketData, empty_frame
from indexcalc.errors import DataError, SpecError
from indexcalc.families.basemetals.compute import compute_base_metals
from indexcalc.families.basemetals.risk import BASKET, INCEPTION
from indexcalc.rules.weights import drift_breaches, drifted_weights
from indexcalc.families.basemetals.spec import BaseMetalsSpec
from indexcalc.catalogue import load_catalogue, parse_spec
from tests.test_risk import _daily_contributions

ROOTS = ("HG", "LA", "LX", "LL", "LN", "LT")


def _synthetic(years: int = 4, seed: int = 7):
    """Correlated random-walk ER levels for the six base metals on weekdays, each root missing
    ~1% of days (exchange holidays), a constant collateral return, and an empty price table."""
    rng = np.random.default_rng(seed)
    days = pl.date_range(dt.date(2015, 1, 1), dt.date(2015 + years, 1, 1), "1d", eager=True)
    days = days.filter(days.dt.weekday() <= 5)
    count = len(ROOTS)
    volatility = np.array([0.25, 0.18, 0.24, 0.22, 0.35, 0.20]) / math.sqrt(252)
    correlation = 0.6 + 0.4 * np.eye(count)
    shocks = rng.standard_normal((len(days), count)) @ np.linalg.cholesky(correlation).T
    levels = 100.0 * np.cumprod(1.0 + shocks * volatility, axis=0)
    series = pl.DataFrame(
        {"date": np.tile(days.to_numpy(), count), "root": np.repeat(ROOTS, len(days)), "level": levels.T.ravel()}
    ).with_columns(pl.col("date").cast(pl.Date))
    series = series.filter(pl.Series(rng.random(series.height) > 0.01))
    market = MarketData(prices=empty_frame(PRICES_SCHEMA), instruments=load_instruments())
    collateral = pl.DataFrame({"date": days, "collateral_return": np.full(len(days), 1e-4)})
    return market, series, collateral


EXTRA_SPECS = [
    BaseMetalsSpec(id="BM-TIN-MINVAR-TILT", name="t", universe=ROOTS, weighting="min_variance", min_weight=0.05,
                   max_weight=0.35, tilt={"fraction": 0.2}, implementation_lag=0, pairs=[("HG", "LX"), ("LN", "LT")]),
    BaseMetalsSpec(id="BM-NO-DRIFT", name="t", drift_threshold=None, implementation_lag=2),
    BaseMetalsSpec(id="BM-TIGHT-DRIFT", name="t", drift_threshold=0.03),
]


@pytest.fixture(scope="module")
def synthetic():
    market, series, collateral = _synthetic()
    specs = [spec for spec in load_catalogue() if spec.kind == "base_metals"] + EXTRA_SPECS
    return market, series, collateral, specs, compute_base_metals(specs, market, series, collateral)


def _aligned(series: pl.DataFrame, roots) -> tuple[np.ndarray, np.ndarray]:
    levels = align_levels(series.filter(pl.col("root").is_in(list(roots))).select("date", "root", "level"))
    wide = levels.pivot(on="root", index="date", values="level").sort("date")
    return wide.get_column("date").to_numpy(), wide.select(list(roots)).to_numpy()


def test_catalogue_has_the_five_variants_with_objectives():
    specs = {spec.id: spec for spec in load_catalogue() if spec.kind == "base_metals"}
    assert {"BM-IV-ER", "BM-IV-TR", "BM-EQ-ER", "BM-MINVAR-ER", "BM-MAXSHARPE-ER"} <= specs.keys()
    assert all(spec.objective for spec in specs.values())
    assert specs["BM-IV-ER"].universe == ("HG", "LA", "LX", "LL", "LN")  # tin off by default
    assert specs["BM-IV-ER"].drift_threshold == 0.15


def test_every_spec_starts_at_its_base_value_and_weights_sum_to_one(synthetic):
    _, _, _, specs, results = synthetic
    assert set(results) == {spec.id for spec in specs}
    for spec in specs:
        result = results[spec.id]
        assert result.levels.get_column("level")[0] == spec.base_value
        assert result.levels.get_column("level").is_finite().all()
        sums = result.weights.group_by("date", "effective_date").agg(pl.col("weight").sum()).get_column("weight")
        np.testing.assert_allclose(sums.to_numpy(), 1.0, atol=1e-12)
        assert (result.weights.get_column("weight") == result.weights.get_column("target_weight")).all()
        assert set(result.weights.get_column("reason").unique()) <= {"monthly", "reoptimise", "drift"}
        assert result.weights.get_column("root").unique().sort().to_list() == sorted(spec.universe)


def test_inverse_volatility_weights_are_inverse_of_the_published_volatility(synthetic):
    weights = synthetic[4]["BM-IV-ER"].weights.filter(pl.col("reason") == "monthly")
    check = weights.with_columns(
        ((1 / pl.col("volatility")) / (1 / pl.col("volatility")).sum().over("date")).alias("expected")
    )
    np.testing.assert_allclose(check.get_column("weight"), check.get_column("expected"), rtol=1e-12)


def test_optimised_weights_respect_bounds_and_reoptimise_quarterly(synthetic):
    _, _, _, specs, results = synthetic
    for spec in specs:
        if not spec.optimised:
            continue
        weights = results[spec.id].weights
        assert weights.get_column("weight").min() >= spec.min_weight - 1e-12
        assert weights.get_column("weight").max() <= spec.max_weight + 1e-12
        reoptimised = weights.filter(pl.col("reason") == "reoptimise").get_column("date").unique().sort()
        assert reoptimised[0] == weights.get_column("date").min()
        assert set(reoptimised[1:].dt.month().to_list()) <= {3, 6, 9, 12}
        monthly = weights.filter(pl.col("reason") == "monthly").get_column("date").unique()
        assert not set(monthly.dt.month().to_list()) & {3, 6, 9, 12}
        # between re-optimisations the untilted target is kept
        scheduled = weights.filter(pl.col("reason") != "drift")
        base = scheduled.pivot(on="root", index="date", values="base_weight").sort("date")
        quarter = base.get_column("date").dt.year() * 10 + (base.get_column("date").dt.month() % 12) // 3
        changes = base.select(pl.exclude("date")).to_numpy()
        same_quarter = (quarter[1:] == quarter[:-1]).to_numpy()
        np.testing.assert_allclose(changes[1:][same_quarter], changes[:-1][same_quarter], atol=0)


def test_momentum_tilt_moves_each_weight_by_at_most_the_fraction(synthetic):
    _, _, _, specs, results = synthetic
    spec = next(spec for spec in specs if spec.id == "BM-IV-MOM-ER")
    weights = results[spec.id].weights.filter(pl.col("reason") != "drift")
    ratio = (weights.get_column("weight") / weights.get_column("base_weight")).to_numpy()
    fraction = spec.tilt.fraction
    assert ratio.min() >= (1 - fraction) / (1 + fraction) - 1e-12
    assert ratio.max() <= (1 + fraction) / (1 - fraction) + 1e-12
    assert np.abs(ratio - 1).max() > 0.01  # the tilt does something


def test_drift_rebalances_fire_on_the_first_breach_and_only_then(synthetic):
    _, series, _, specs, results = synthetic
    fired = 0
    for spec in specs:
        weights = results[spec.id].weights
        dates, levels = _aligned(series, spec.universe)
        position = {day: index for index, day in enumerate(dates)}
        events = weights.group_by("date", "effective_date", "reason", maintain_order=True).agg("weight").sort("date")
        rows = events.rows(named=True)
        for previous, current in zip(rows, rows[1:]):
            anchor = position[np.datetime64(previous["effective_date"])]
            fixing = position[np.datetime64(current["date"])]
            target = np.array(previous["weight"])
            drift = drifted_weights(levels[anchor + 1 : fixing + 1], levels[anchor], target)
            breaches = np.zeros(len(drift), bool)
            if spec.drift_threshold is not None:
                breaches = drift_breaches(drift, target, spec.drift_threshold)
            if current["reason"] == "drift":
                fired += 1
                assert breaches[-1] and not breaches[:-1].any()
            else:
                assert not breaches[:-1].any()
    assert fired > 0
    no_drift = results["BM-NO-DRIFT"].weights
    assert "drift" not in no_drift.get_column("reason").to_list()
    tight = results["BM-TIGHT-DRIFT"].weights.filter(pl.col("reason") == "drift").get_column("date").n_unique()
    loose = results["BM-IV-ER"].weights.filter(pl.col("reason") == "drift").get_column("date").n_unique()
    assert tight > loose


def test_levels_equal_the_sum_of_daily_contributions(synthetic):
    _, series, _, specs, results = synthetic
    for spec in specs:
        result = results[spec.id]
        if spec.return_type != "er":
            continue
        levels = align_levels(series.filter(pl.col("root").is_in(list(spec.universe))).select("date", "root", "level"))
        base_date = result.levels.get_column("date")[0]
        contributions = _daily_contributions(levels.drop_nulls("level"), result.weights, base_date)
        daily = contributions.group_by("date").agg(pl.col("contribution").sum()).join(result.levels, on="date")
        np.testing.assert_allclose(daily.get_column("contribution"), daily.get_column("daily_return"), atol=1e-12)


def test_total_return_adds_collateral_to_the_excess_return(synthetic):
    results = synthetic[4]
    excess, total = results["BM-IV-ER"].levels, results["BM-IV-TR"].levels
    joined = excess.join(total, on="date", suffix="_tr").slice(1)
    # CTR_t / CTR_{t-1} = C_t / C_{t-1} + TBR_t with TBR = 1e-4 here
    np.testing.assert_allclose(
        (joined.get_column("daily_return_tr") - joined.get_column("daily_return")).to_numpy(), 1e-4, atol=1e-12
    )
    assert results["BM-IV-TR"].tables["attribution"].equals(results["BM-IV-ER"].tables["attribution"])


def test_published_tables_are_consistent(synthetic):
    _, series, _, specs, results = synthetic
    for spec in specs:
        result = results[spec.id]
        tables = result.tables
        base_date = result.levels.get_column("date")[0]
        roots = list(spec.universe)
        assert set(tables) == {
            "correlation_matrix", "correlation_monitor", "pairs", "stress", "attribution", "risk_contribution"
        }
        for name in ("correlation_monitor", "pairs"):
            assert tables[name].get_column("date").min() == base_date
        assert tables["correlation_monitor"].get_column("date").to_list() == result.levels.get_column("date").to_list()
        assert tables["correlation_monitor"].get_column("average_correlation").null_count() == 0
        matrix = tables["correlation_matrix"]
        assert matrix.columns == ["root", *roots]
        values = matrix.select(roots).to_numpy()
        np.testing.assert_allclose(values, values.T, atol=1e-12)
        np.testing.assert_allclose(np.diag(values), 1.0, atol=1e-12)
        assert set(tables["pairs"].get_column("pair").unique()) == {f"{a}/{b}" for a, b in spec.pairs}
        assert set(tables["pairs"].get_column("state").unique()) <= {"flat", "short_ratio", "long_ratio"}

        # current weights: drifted to the last close from the last effective rebalance
        dates, levels = _aligned(series, spec.universe)
        last_event = result.weights.filter(pl.col("effective_date") == pl.col("effective_date").max())
        anchor = int(np.searchsorted(dates, np.datetime64(last_event.get_column("effective_date")[0])))
        current = drifted_weights(levels[-1], levels[anchor], last_event.get_column("weight").to_numpy())
        risk = tables["risk_contribution"]
        np.testing.assert_allclose(risk.get_column("weight").to_numpy(), current, rtol=1e-12)
        returns = levels[1:] / levels[:-1] - 1
        window = returns[-spec.risk_window :]
        portfolio = (window @ current).std(ddof=1) * math.sqrt(spec.annualisation)
        assert risk.get_column("risk_contribution").sum() == pytest.approx(portfolio, rel=1e-10)

        stress = tables["stress"]
        shocks = stress.select([f"shock_{root}" for root in roots]).to_numpy()
        np.testing.assert_allclose(stress.get_column("pnl").to_numpy(), shocks @ current, atol=1e-14)
        np.testing.assert_allclose(
            stress.get_column("pnl_points").to_numpy(),
            stress.get_column("pnl").to_numpy() * result.levels.get_column("level")[-1],
            rtol=1e-12,
        )
        assert stress.filter(pl.col("scenario") == "covid-crash").get_column("pnl")[0] == pytest.approx(-0.25)
        assert stress.filter(pl.col("scenario").str.starts_with("supply-shock:")).height == len(roots)

        attribution = tables["attribution"]
        since = attribution.filter((pl.col("period") == INCEPTION) & (pl.col("root") == BASKET)).row(0, named=True)
        excess = result.levels if spec.return_type == "er" else results[spec.id.replace("-TR", "-ER")].levels
        level_on = dict(zip(excess.get_column("date"), excess.get_column("level")))
        actual = level_on[since["end_date"]] / level_on[since["start_date"]] - 1
        assert since["root_return"] == pytest.approx(actual, abs=1e-12)
        decomposed = since["equal_weight_return"] + since["selection"] + since["timing"]
        assert decomposed == pytest.approx(actual, abs=1e-12)
        months = attribution.filter((pl.col("period") != INCEPTION) & (pl.col("root") == BASKET))
        growth = (1 + months.get_column("root_return")).product()
        assert growth == pytest.approx(1 + since["root_return"], rel=1e-12)


def test_history_does_not_change_when_later_data_arrives(synthetic):
    # a run on data up to a cut date reproduces the full run's levels and rebalances up to it
    market, series, collateral, specs, results = synthetic
    cut = dt.date(2017, 8, 15)
    truncated = compute_base_metals(specs, market, series.filter(pl.col("date") <= cut), collateral)
    for spec in specs:
        full, short = results[spec.id], truncated[spec.id]
        assert short.levels.get_column("date").max() == cut
        np.testing.assert_allclose(
            short.levels.get_column("level").to_numpy(),
            full.levels.filter(pl.col("date") <= cut).get_column("level").to_numpy(),
            rtol=1e-12,
        )
        assert short.weights.equals(full.weights.filter(pl.col("effective_date") <= cut))


def test_missing_root_scenarios_file_and_flat_prices_are_user_errors(tmp_path):
    market, series, collateral = _synthetic(years=1)
    spec = BaseMetalsSpec(id="BM-X", name="x", universe=("HG", "LA", "ZZ"), pairs=[("HG", "LA")])
    with pytest.raises(SpecError, match=r"index BM-X: universe roots without series in the market: \['ZZ'\]"):
        compute_base_metals([spec], market, series, collateral)
    with pytest.raises(SpecError, match=r"none.toml: cannot read scenarios file"):  # read when the spec is built
        BaseMetalsSpec(id="BM-Y", name="y", scenarios_file=str(tmp_path / "none.toml"))
    flat = series.with_columns(
        pl.when((pl.col("root") == "LN") & (pl.col("date") >= dt.date(2015, 4, 1)))
        .then(100.0)
        .otherwise(pl.col("level"))
        .alias("level")
    )
    with pytest.raises(DataError, match=r"index BM-IV root LN date 2015-04-30: 20-day volatility is 0.0"):
        compute_base_metals([BaseMetalsSpec(id="BM-IV", name="iv")], market, flat, collateral)
    short = BaseMetalsSpec(id="BM-Z", name="z", covariance_window=600, weighting="min_variance")
    with pytest.raises(SpecError, match="index BM-Z: no month-end with 600 daily returns"):
        compute_base_metals([short], market, series, collateral)
    total = BaseMetalsSpec(id="BM-TR", name="tr", return_type="tr")
    with pytest.raises(DataError, match="index BM-TR date .*no collateral return"):
        compute_base_metals([total], market, series, collateral.head(100))


def test_base_date_moves_the_start():
    market, series, collateral = _synthetic(years=2)
    spec = BaseMetalsSpec(id="BM-B", name="b", base_date=dt.date(2015, 8, 3))
    levels = compute_base_metals([spec], market, series, collateral)["BM-B"].levels
    assert levels.get_column("date")[0] == dt.date(2015, 8, 3)
    assert levels.filter(pl.col("date") <= dt.date(2015, 9, 1)).get_column("level").unique().to_list() == [1000.0]
    weekend = BaseMetalsSpec(id="BM-W", name="w", base_date=dt.date(2015, 8, 1))
    with pytest.raises(SpecError, match="index BM-W: base_date 2015-08-01 is not a business day of the index"):
        compute_base_metals([weekend], market, series, collateral)
    early = BaseMetalsSpec(id="BM-E", name="e", base_date=dt.date(2015, 2, 2))
    with pytest.raises(SpecError, match="base_date 2015-02-02 leaves fewer than 60 daily returns"):
        compute_base_metals([early], market, series, collateral)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"min_weight": 0.3}, "cannot sum to 1 over 5 roots"),
        ({"pairs": [["HG", "LT"]]}, "pair HG/LT must be two different roots of universe"),
        ({"tilt": {"fraction": 0.3}}, "tilt.fraction: Input should be less than or equal to 0.2"),
        ({"weighting": "risk_parity"}, "weighting: Input should be"),
        ({"universe": ["HG"]}, "at least two roots"),
    ],
)
def test_invalid_specs_are_rejected_with_index_and_field(table, message):
    with pytest.raises(SpecError, match=message) as error:
        parse_spec({"id": "BM-BAD", "kind": "base_metals", "name": "bad", **table}, file="basemetals.toml")
    assert str(error.value).startswith("basemetals.toml: index BM-BAD")


def test_cli_reports_an_invalid_spec_on_one_line_with_exit_code_2(tmp_path):
    (tmp_path / "basemetals.toml").write_text(
        '[[index]]\nid = "BM-BAD"\nkind = "base_metals"\nname = "bad"\nmin_weight = 0.3\n'
    )
    outcome = CliRunner().invoke(main, ["list", "--catalogue", str(tmp_path)])
    assert outcome.exit_code == 2
    lines = outcome.output.strip().splitlines()
    assert len(lines) == 1
    assert "basemetals.toml: index BM-BAD" in lines[0] and "cannot sum to 1 over 5 roots" in lines[0]


# --- the embedded market ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def embedded_basemetals(embedded_market, embedded_series):
    from indexcalc.collateral import collateral_returns

    collateral = collateral_returns(embedded_market.rates, embedded_series.get_column("date").unique().sort())
    specs = [spec for spec in load_catalogue() if spec.kind == "base_metals"]
    started = time.perf_counter()
    results = compute_base_metals(specs, embedded_market, embedded_series, collateral)
    return specs, results, time.perf_counter() - started


def test_full_history_on_the_embedded_market(embedded_basemetals):
    specs, results, seconds = embedded_basemetals
    assert seconds < 5.0  # generous on a busy machine; the benchmark reports the real time
    for spec in specs:
        result = results[spec.id]
        levels = result.levels
        assert levels.height > 5000  # decades of business days
        assert levels.get_column("level").is_finite().all() and levels.get_column("level").min() > 0
        assert result.weights.get_column("weight").min() > 0
        attribution = result.tables["attribution"]
        since = attribution.filter((pl.col("period") == INCEPTION) & (pl.col("root") == BASKET)).row(0, named=True)
        decomposed = since["equal_weight_return"] + since["selection"] + since["timing"]
        assert decomposed == pytest.approx(since["root_return"], abs=1e-10)
        risk = result.tables["risk_contribution"]
        assert risk.get_column("risk_contribution").sum() > 0
    reasons = results["BM-MINVAR-ER"].weights.get_column("reason").unique().to_list()
    assert {"monthly", "reoptimise", "drift"} <= set(reasons)


def test_the_spec_carries_its_scenarios_and_the_calculation_reads_no_file(tmp_path):
    from indexcalc.families.basemetals.spec import StressScenario

    market, series, collateral = _synthetic(years=1)
    file = tmp_path / "scenarios.toml"
    file.write_text('[[scenario]]\nname = "crash"\ndescription = "all down"\ndefault_shock = -0.2\n')
    spec = BaseMetalsSpec(id="BM-S", name="s", scenarios_file=str(file))
    assert spec.scenarios == (StressScenario(name="crash", description="all down", default_shock=-0.2),)
    file.unlink()  # the calculation must not need the file any more
    stress = compute_base_metals([spec], market, series, collateral)["BM-S"].tables["stress"]
    assert stress.get_column("scenario").to_list() == ["crash"]
    # Not a field: the published parameter table and the spec's fingerprint are unchanged.
    assert "scenarios" not in spec.model_dump()
    unknown = spec.with_scenarios([StressScenario(name="x", description="x", shocks={"ZZ": 0.1})])
    with pytest.raises(SpecError, match=r"scenario x: shocks name unknown roots \['ZZ'\]"):
        compute_base_metals([unknown], market, series, collateral)


@pytest.mark.parametrize("index_id", ["BM-IV-ER", "BM-MINVAR-ER"])
def test_a_root_whose_holding_is_lost_stops_the_basket_naming_index_root_and_date(embedded_market, index_id):
    """A settlement at or below zero loses the holding (level 0, no returns after): every
    weighting stops with one error naming the index, the root and the date, instead of a NaN
    volatility or covariance without a name."""
    from dataclasses import replace

    from indexcalc.pipeline import rebuild_all

    lost = dt.date(2020, 4, 20)
    negative = (pl.col("root") == "LN") & (pl.col("date") == lost)
    market = replace(embedded_market,
                     prices=embedded_market.prices.with_columns(pl.when(negative).then(-5.0).otherwise("settle").alias("settle")))
    spec = next(spec for spec in load_catalogue() if spec.id == index_id)
    with pytest.raises(DataError) as raised:
        rebuild_all(market, [spec])
    message = str(raised.value)
    assert f"index {index_id}" in message and "root LN lost its holding on 2020-04-20" in message
