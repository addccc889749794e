"""Risk monitors and attribution of a long-only basket (indexcalc.families.basemetals.risk), and the stress-scenario
file format (indexcalc.families.basemetals.spec)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexcalc.composite import composite_excess_return
from indexcalc.panel import Panel
from indexcalc.errors import SpecError
from indexcalc.families.basemetals.risk import (
    BASKET,
    INCEPTION,
    attribution,
    correlation_matrix,
    correlation_monitor,
    daily_contributions,
    pairs_monitor,
    risk_contribution,
    rolling_correlations,
    scenario_moves,
    stress_pnl,
)
from indexcalc.families.basemetals.spec import BaseMetalsSpec, StressScenario, load_scenarios, parse_scenarios



def _daily_contributions(levels: pl.DataFrame, weights: pl.DataFrame, base_date: dt.date) -> pl.DataFrame:
    """:func:`daily_contributions` of long frames ``date, root, level`` and ``effective_date,
    root, weight``: the weighted roots' panels (on the dates where one of them has a level)."""
    roots = weights.get_column("root").unique().sort()
    levels = levels.filter(pl.col("root").is_in(roots.implode()))
    return daily_contributions(
        Panel.from_long(levels, "level", roots=roots),
        Panel.from_long(weights, "weight", on="effective_date", roots=roots, fill=0.0),
        base_date,
    )

def _long(dates, roots, matrix, column):
    return pl.DataFrame(
        {
            "date": np.repeat(np.array(dates, dtype="datetime64[D]"), len(roots)),
            "root": np.tile(np.array(roots), len(dates)),
            column: np.asarray(matrix, dtype=float).ravel(),
        }
    ).with_columns(pl.col("date").cast(pl.Date))


def _business_days(count: int, start: dt.date = dt.date(2024, 1, 1)) -> list[dt.date]:
    """The first ``count`` weekdays from ``start``."""
    days = pl.date_range(start, start + dt.timedelta(days=count * 2), "1d", eager=True)
    return days.filter(days.dt.weekday() <= 5)[:count].to_list()


# --- correlation monitor ----------------------------------------------------------------------


def test_correlation_monitor_hand_computed():
    # window 3: A = 1, 2, 3 %, B = 2, 4, 6 % (corr +1 with A), C = 3, 2, 1 % (corr -1 with both):
    # pairs AB +1, AC -1, BC -1 -> average -1/3, two pairs below 0.5, alert.
    dates = _business_days(3)
    matrix = [[0.01, 0.02, 0.03], [0.02, 0.04, 0.02], [0.03, 0.06, 0.01]]
    returns = _long(dates, ["A", "B", "C"], matrix, "daily_return")
    monitor = correlation_monitor(Panel.from_long(returns, "daily_return"), window=3, alert_below=0.5)
    assert monitor.get_column("average_correlation").to_list()[:2] == [None, None]
    last = monitor.row(-1, named=True)
    assert last["average_correlation"] == pytest.approx(-1 / 3, abs=1e-12)
    assert last["pairs_below"] == 2
    assert last["alert"] is True
    assert monitor.get_column("alert").to_list()[:2] == [None, None]
    matrix = correlation_matrix(Panel.from_long(returns, "daily_return"), window=3)
    assert matrix.columns == ["root", "A", "B", "C"]
    np.testing.assert_allclose(
        matrix.select("A", "B", "C").to_numpy(), [[1, 1, -1], [1, 1, -1], [-1, -1, 1]], atol=1e-12
    )


def test_rolling_correlations_match_pandas():
    rng = np.random.default_rng(2)
    returns = rng.standard_normal((400, 4)) @ np.array(
        [[1, 0.5, 0.3, 0.1], [0, 1, 0.4, 0.2], [0, 0, 1, 0.5], [0, 0, 0, 1]]
    ) * 0.01
    ours = rolling_correlations(returns, 60)
    oracle = pd.DataFrame(returns).rolling(60).corr().to_numpy().reshape(400, 4, 4)
    assert np.isnan(ours[:59]).all()
    np.testing.assert_allclose(ours[59:], oracle[59:], atol=1e-12)


def test_correlation_is_undefined_for_a_root_that_did_not_move():
    returns = np.column_stack([np.linspace(-0.01, 0.01, 10), np.zeros(10)])
    assert np.isnan(rolling_correlations(returns, 5)[-1, 0, 1])


def test_alert_clears_when_average_correlation_is_above_threshold():
    rng = np.random.default_rng(4)
    common = rng.standard_normal(200)
    matrix = np.column_stack([common + 0.1 * rng.standard_normal(200) for _ in range(3)]) * 0.01
    returns = _long(_business_days(200), ["A", "B", "C"], matrix, "daily_return")
    monitor = correlation_monitor(Panel.from_long(returns, "daily_return"), window=60, alert_below=0.5)
    assert monitor.drop_nulls().get_column("alert").sum() == 0
    assert monitor.get_column("average_correlation").drop_nulls().min() > 0.9


# --- pairs monitor ----------------------------------------------------------------------------


def _reference_states(z, entry, exit):
    state, states = "flat", []
    for value in z:
        if value is None or math.isnan(value):
            states.append(state)
            continue
        if value > entry:
            state = "short_ratio"
        elif value < -entry:
            state = "long_ratio"
        elif state == "short_ratio" and value <= exit:
            state = "flat"
        elif state == "long_ratio" and value >= -exit:
            state = "flat"
        states.append(state)
    return states


def test_pairs_zscore_hand_computed_and_entry_exit_states():
    # window 10, ratio A/B with B flat at 1: nine days at 1 then 2: mean 1.1, sample variance
    # (9 * 0.01 + 0.81) / 9 = 0.1, z = 0.9 / 0.31623 = 2.846 > 1.5 -> short the ratio.
    # Then z = 1.256, 0.316 (still short: not yet back to 0), -0.546 (exit: flat), -1.566
    # (< -1.5: long the ratio), -1.579 (long), 0.225 (back above 0: flat), 0.366 (flat).
    ratio = [1.0] * 9 + [2.0, 1.6, 1.3, 1.0, 0.5, 0.3, 1.2, 1.3]
    dates = _business_days(len(ratio))
    levels = pl.DataFrame(
        {"date": dates * 2, "root": ["A"] * len(ratio) + ["B"] * len(ratio), "level": ratio + [1.0] * len(ratio)}
    )
    result = pairs_monitor(levels, [("A", "B")], window=10, entry=1.5, exit=0.0)
    assert result.get_column("pair").unique().to_list() == ["A/B"]
    z = result.get_column("zscore").to_list()
    assert z[:9] == [None] * 9
    assert z[9] == pytest.approx(0.9 / math.sqrt(0.1), abs=1e-12)
    # the z-scores against a plain numpy recomputation
    for day in range(9, len(ratio)):
        window = np.array(ratio[day - 9 : day + 1])
        assert z[day] == pytest.approx((window[-1] - window.mean()) / window.std(ddof=1), abs=1e-12)
    assert [round(value, 3) for value in z[9:]] == [2.846, 1.256, 0.316, -0.546, -1.566, -1.579, 0.225, 0.366]
    states = result.get_column("state").to_list()
    assert states == ["flat"] * 9 + ["short_ratio"] * 3 + ["flat"] + ["long_ratio"] * 2 + ["flat"] * 2


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), exit=st.sampled_from([0.0, 0.5]))
def test_pairs_states_follow_the_entry_exit_rule(seed, exit):
    rng = np.random.default_rng(seed)
    days = 150
    level_a = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, days)))
    level_b = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, days)))
    dates = _business_days(days)
    levels = pl.DataFrame({"date": dates * 2, "root": ["A"] * days + ["B"] * days, "level": [*level_a, *level_b]})
    result = pairs_monitor(levels, [("A", "B"), ("B", "A")], window=20, entry=1.5, exit=exit)
    for pair in ("A/B", "B/A"):
        frame = result.filter(pl.col("pair") == pair)
        z = frame.get_column("zscore").to_list()
        assert frame.get_column("state").to_list() == _reference_states(z, 1.5, exit)


# --- stress -----------------------------------------------------------------------------------


def test_stress_pnl_two_metal_portfolio_hand_computed():
    # weights HG 0.6, LN 0.4; vols HG 20%, LN 40% (mean 30%)
    # covid -25% all: -0.25
    # nickel squeeze LN +100%, others +5%: 0.6 * 0.05 + 0.4 * 1.0 = 0.43
    # china slowdown factor -15%, rho 0.95: HG 0.95 * 0.2/0.3 * -0.15 = -0.095,
    #   LN 0.95 * 0.4/0.3 * -0.15 = -0.19; pnl 0.6 * -0.095 + 0.4 * -0.19 = -0.133
    # dollar surge -12% all: -0.12
    # supply shock +30% one metal: HG -> 0.18, LN -> 0.12
    spec = BaseMetalsSpec(id="BM-TEST", name="test")
    scenarios = load_scenarios(spec.scenarios_path(), known_roots={"HG", "LA", "LX", "LL", "LN", "LT"})
    weights = pl.DataFrame({"root": ["HG", "LN"], "weight": [0.6, 0.4]})
    moves = scenario_moves(scenarios, ["HG", "LN"], {"HG": 0.2, "LN": 0.4})
    table = stress_pnl(weights, moves, level=1000.0)
    pnl = dict(zip(table.get_column("scenario"), table.get_column("pnl")))
    expected = {
        "covid-crash": -0.25,
        "nickel-squeeze": 0.43,
        "china-slowdown": -0.133,
        "dollar-surge": -0.12,
        "supply-shock:HG": 0.18,
        "supply-shock:LN": 0.12,
    }
    assert pnl.keys() == expected.keys()
    for name, value in expected.items():
        assert pnl[name] == pytest.approx(value, abs=1e-15), name
    china = table.filter(pl.col("scenario") == "china-slowdown").row(0, named=True)
    assert china["shock_HG"] == pytest.approx(-0.095, abs=1e-15)
    assert china["shock_LN"] == pytest.approx(-0.19, abs=1e-15)
    assert china["pnl_points"] == pytest.approx(-133.0, abs=1e-10)
    assert table.columns[:5] == ["scenario", "description", "horizon_days", "pnl", "pnl_points"]


def test_scenario_with_explicit_shock_overrides_the_factor_move():
    scenario = StressScenario(name="mixed", description="d", factor_move=-0.1, shocks={"LN": 0.2})
    moves = scenario_moves([scenario], ["HG", "LN"], {"HG": 0.1, "LN": 0.3})
    # HG: 1.0 * 0.1 / 0.2 * -0.1 = -0.05; LN explicit +0.2
    assert moves.get_column("move").to_list() == pytest.approx([-0.05, 0.2], abs=1e-15)


def test_scenario_file_errors_name_file_and_scenario(tmp_path):
    path = tmp_path / "scenarios.toml"
    path.write_text('[[scenario]]\nname = "typo"\ndescription = "x"\nshocks = { HGG = 0.1 }\n')
    with pytest.raises(SpecError, match=r"scenarios.toml: scenario typo: shocks name unknown roots \['HGG'\]"):
        load_scenarios(path, known_roots={"HG"})
    path.write_text('[[scenario]]\nname = "crash"\ndescription = "x"\ndefault_shock = -1.5\n')
    with pytest.raises(SpecError, match=r"scenario crash: .*above -1"):
        load_scenarios(path)
    with pytest.raises(SpecError, match="cannot read scenarios file"):
        load_scenarios(tmp_path / "missing.toml")
    with pytest.raises(SpecError, match="duplicated scenario name"):
        parse_scenarios({"scenario": [{"name": "a", "description": "x"}] * 2}, file="f.toml")


# --- risk contribution ------------------------------------------------------------------------


def _returns_with_covariance(covariance: np.ndarray, days: int, seed: int) -> np.ndarray:
    """Daily returns whose sample covariance (ddof 1) is exactly ``covariance``."""
    rng = np.random.default_rng(seed)
    raw = rng.standard_normal((days, len(covariance)))
    raw -= raw.mean(axis=0)
    whitened = raw @ np.linalg.inv(np.linalg.cholesky(np.cov(raw, rowvar=False)).T)
    return whitened @ np.linalg.cholesky(covariance).T


def test_risk_contribution_hand_computed():
    # annual sigma 20% and 10%, rho 0.5, weights 0.5/0.5: S = [[0.04, 0.01], [0.01, 0.01]],
    # S w = (0.025, 0.01), sigma_p = sqrt(0.0175) = 0.132288, RC = (0.094491, 0.037796),
    # rho_1p = 0.025 / (0.2 * 0.132288) = 0.944911
    annual = np.array([[0.04, 0.01], [0.01, 0.01]])
    matrix = _returns_with_covariance(annual / 252, 120, seed=1)
    returns = _long(_business_days(120), ["HG", "LN"], matrix, "daily_return")
    table = risk_contribution(pl.DataFrame({"root": ["HG", "LN"], "weight": [0.5, 0.5]}), Panel.from_long(returns, "daily_return"), 252)
    assert table.get_column("volatility").to_list() == pytest.approx([0.2, 0.1], abs=1e-12)
    assert table.get_column("risk_contribution").to_list() == pytest.approx(
        [0.5 * 0.025 / math.sqrt(0.0175), 0.5 * 0.01 / math.sqrt(0.0175)], abs=1e-12
    )
    correlation = table.get_column("correlation_with_portfolio")[0]
    assert correlation == pytest.approx(0.025 / (0.2 * math.sqrt(0.0175)), abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), count=st.integers(2, 6))
def test_risk_contributions_sum_to_portfolio_volatility(seed, count):
    rng = np.random.default_rng(seed)
    matrix = rng.standard_normal((80, count)) @ rng.standard_normal((count, count)) * 0.01
    weights = rng.dirichlet(np.ones(count))
    roots = [f"R{position}" for position in range(count)]
    table = risk_contribution(
        pl.DataFrame({"root": roots, "weight": weights}),
        Panel.from_long(_long(_business_days(80), roots, matrix, "daily_return"), "daily_return"),
        252,
    )
    portfolio = (matrix @ weights).std(ddof=1) * math.sqrt(252)
    assert table.get_column("risk_contribution").sum() == pytest.approx(portfolio, rel=1e-12)
    rebuilt = table.select(pl.col("weight") * pl.col("volatility") * pl.col("correlation_with_portfolio")).to_series()
    np.testing.assert_allclose(rebuilt.to_numpy(), table.get_column("risk_contribution").to_numpy(), rtol=1e-10)


# --- attribution ------------------------------------------------------------------------------


def _two_root_example():
    dates = [dt.date(2024, 1, 30), dt.date(2024, 1, 31), dt.date(2024, 2, 1), dt.date(2024, 2, 2), dt.date(2024, 3, 1)]
    levels = _long(dates, ["A", "B"], [[100, 100], [100, 100], [110, 100], [121, 90], [121, 99]], "level")
    weights = pl.DataFrame(
        {
            "effective_date": [dt.date(2024, 1, 31)] * 2 + [dt.date(2024, 2, 2)] * 2,
            "root": ["A", "B"] * 2,
            "weight": [0.6, 0.4] * 2,
        }
    )
    return dates, levels, weights


def test_attribution_hand_computed():
    # Weights 0.6/0.4 effective 31 Jan, reset to 0.6/0.4 effective 2 Feb.
    # Index: 1000 (30-31 Jan), 1060 (1 Feb: 1 + 0.6 * 0.1), 1086 (2 Feb: 1 + 0.6 * 0.21 - 0.4 * 0.1),
    # 1129.44 (1 Mar: 1086 * (1 + 0.4 * 0.1)).
    # Feb (from 31 Jan): R = 0.086, A +21% -> 0.6 * 0.21 = 0.126, B -10% -> -0.04; EW 0.055,
    #   buy-and-hold 0.086, selection 0.031, timing 0.
    # Mar (from 2 Feb): R = 0.04; start weights 0.6/0.4 (reset at the close of 2 Feb); A 0, B +10%:
    #   contributions 0 and 0.04; EW 0.05, selection -0.01, timing 0.
    # Inception (from 31 Jan): R = 0.12944; A 0.126; B: -0.04 (Feb) + 0.04 * 1.086 = 0.00344;
    #   R_A 0.21, R_B -0.01, EW 0.1, buy-and-hold 0.6 * 0.21 - 0.4 * 0.01 = 0.122,
    #   selection 0.022, timing 0.00744.
    dates, levels, weights = _two_root_example()
    index = composite_excess_return(levels, weights, dates[0], 1000.0)
    assert index.get_column("level").to_list() == pytest.approx([1000, 1000, 1060, 1086, 1129.44], abs=1e-9)
    contributions = _daily_contributions(levels, weights, dates[0])
    table = attribution(contributions, index, 252)
    assert table.get_column("period").unique(maintain_order=True).to_list() == [INCEPTION, "2024-03", "2024-02"]
    assert table.get_column("root").to_list()[:3] == ["A", "B", BASKET]

    def row(period, root):
        return table.filter((pl.col("period") == period) & (pl.col("root") == root)).row(0, named=True)

    feb = row("2024-02", BASKET)
    assert feb["start_date"] == dt.date(2024, 1, 31) and feb["end_date"] == dt.date(2024, 2, 2)
    assert feb["root_return"] == pytest.approx(0.086, abs=1e-14)
    assert row("2024-02", "A")["contribution"] == pytest.approx(0.126, abs=1e-14)
    assert row("2024-02", "B")["contribution"] == pytest.approx(-0.04, abs=1e-14)
    assert feb["equal_weight_return"] == pytest.approx(0.055, abs=1e-14)
    assert feb["selection"] == pytest.approx(0.031, abs=1e-14)
    assert feb["timing"] == pytest.approx(0.0, abs=1e-14)
    mar = row("2024-03", BASKET)
    assert mar["root_return"] == pytest.approx(0.04, abs=1e-14)
    assert row("2024-03", "A")["start_weight"] == pytest.approx(0.6, abs=1e-14)
    assert mar["selection"] == pytest.approx(-0.01, abs=1e-14)
    since = row(INCEPTION, BASKET)
    assert since["root_return"] == pytest.approx(0.12944, abs=1e-14)
    assert row(INCEPTION, "A")["contribution"] == pytest.approx(0.126, abs=1e-14)
    assert row(INCEPTION, "B")["contribution"] == pytest.approx(0.00344, abs=1e-14)
    assert since["equal_weight_return"] == pytest.approx(0.1, abs=1e-14)
    assert since["buy_and_hold_return"] == pytest.approx(0.122, abs=1e-14)
    assert since["selection"] == pytest.approx(0.022, abs=1e-14)
    assert since["timing"] == pytest.approx(0.00744, abs=1e-14)


def _random_basket(seed: int, days: int = 130, count: int = 4):
    rng = np.random.default_rng(seed)
    dates = _business_days(days)
    matrix = 100 * np.cumprod(1 + rng.normal(0, 0.015, (days, count)), axis=0)
    roots = [f"R{position}" for position in range(count)]
    levels = _long(dates, roots, matrix, "level")
    anchors = [dates[position] for position in sorted(rng.choice(np.arange(1, days - 1), 6, replace=False))]
    weights = pl.DataFrame(
        {
            "effective_date": np.repeat(np.array(anchors, dtype="datetime64[D]"), count),
            "root": roots * len(anchors),
            "weight": rng.dirichlet(np.ones(count), len(anchors)).ravel(),
        }
    ).with_columns(pl.col("effective_date").cast(pl.Date))
    return dates, levels, weights


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000))
@pytest.mark.slow
def test_contributions_sum_to_index_returns_and_attribution_identities_hold(seed):
    dates, levels, weights = _random_basket(seed)
    index = composite_excess_return(levels, weights, dates[0], 1000.0)
    contributions = _daily_contributions(levels, weights, dates[0])
    daily = contributions.group_by("date").agg(pl.col("contribution").sum()).join(index, on="date")
    np.testing.assert_allclose(daily.get_column("contribution"), daily.get_column("daily_return"), atol=1e-13)
    table = attribution(contributions, index, 252)
    baskets = table.filter(pl.col("root") == BASKET)
    roots = table.filter(pl.col("root") != BASKET).group_by("period").agg(
        pl.col("contribution").sum().alias("sum_contribution"),
        pl.col("risk_contribution").sum().alias("sum_risk"),
    )
    checked = baskets.join(roots, on="period")
    levels_at = dict(zip(index.get_column("date"), index.get_column("level")))
    for row in checked.iter_rows(named=True):
        actual = levels_at[row["end_date"]] / levels_at[row["start_date"]] - 1
        assert row["root_return"] == pytest.approx(actual, abs=1e-12)
        assert row["sum_contribution"] == pytest.approx(actual, abs=1e-12)
        assert row["equal_weight_return"] + row["selection"] + row["timing"] == pytest.approx(actual, abs=1e-12)
        period_returns = index.filter(
            (pl.col("date") > row["start_date"]) & (pl.col("date") <= row["end_date"])
        ).get_column("daily_return")
        if len(period_returns) < 2:
            assert row["risk_contribution"] is None
        else:
            realised = period_returns.std() * math.sqrt(252)
            assert row["risk_contribution"] == pytest.approx(realised, rel=1e-9)
            assert row["sum_risk"] == pytest.approx(realised, rel=1e-9)
