"""The Long/Short momentum family end to end (indexcalc.families.momentum.compute, docs/design.md section 3).

Synthetic tests build the linked series directly (a random walk per root, one contract per day
whose settle is the level and whose open interest is given), so every expectation is computed
here independently from those frames.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import polars as pl
import pytest

from indexcalc.data.instruments import load_instruments
from indexcalc.data.market import MarketData
from indexcalc.errors import SpecError
from indexcalc.families.momentum.compute import WEIGHTS_COLUMNS, compute_momentum
from indexcalc.families.momentum.spec import MomentumIndexSpec

from .momentum_checks import assert_equal_weight_long_only_is_the_mean_of_root_period_returns

INSTRUMENTS = load_instruments()
ROOTS = ["C", "CL", "GC", "HG", "KC", "NG", "SI", "W"]  # CL, NG energy
FAMILIES = {"LS": "long_short", "LF": "long_flat", "SF": "short_flat", "LO": "long_only", "SO": "short_only"}
CAP = 0.2


def _synthetic(start: dt.date = dt.date(2000, 1, 3), late_root_start: dt.date | None = None, seed: int = 7):
    """Series, market and collateral: weekday axis 2000-2002; GC skips every 7th day (closed);
    open interest differs by root so that the cap binds (CL's is the largest)."""
    rng = np.random.default_rng(seed)
    days = pl.date_range(start, dt.date(2002, 12, 31), "1d", eager=True)
    days = days.filter(days.dt.weekday() <= 5)
    frames = []
    for number, root in enumerate(ROOTS):
        # persistent drifts that change sign every ~6 months give both long and short signals
        regime = np.repeat(rng.choice([-1.0, 1.0], size=len(days) // 120 + 1), 120)[: len(days)]
        returns = 0.0015 * regime + 0.01 * rng.standard_normal(len(days))
        levels = 100.0 * np.cumprod(1.0 + returns)
        frame = pl.DataFrame({"date": days, "root": root, "level": levels})
        if root == "GC":
            frame = frame.filter(pl.int_range(pl.len()) % 7 != 3)
        if late_root_start is not None and root == "KC":
            frame = frame.filter(pl.col("date") >= late_root_start)
        frames.append(frame.with_columns(pl.lit(1_000.0 * (1 + number) ** 2).alias("open_interest")))
    levels = pl.concat(frames)
    series = levels.select(
        "date",
        "root",
        "level",
        (pl.col("level") / pl.col("level").shift(1).over("root") - 1.0).fill_null(0.0).alias("daily_return"),
    )
    prices = levels.select(
        "date",
        "root",
        pl.lit(200001, dtype=pl.Int32).alias("contract"),
        pl.col("level").alias("settle"),
        pl.lit(1.0).alias("volume"),
        pl.col("open_interest") / (pl.col("level") * pl.col("root").replace_strict(
            {root: INSTRUMENTS[root].multiplier for root in ROOTS}, return_dtype=pl.Float64
        )),
    )
    market = MarketData(prices=prices, instruments={root: INSTRUMENTS[root] for root in ROOTS})
    axis = series.get_column("date").unique().sort()
    collateral = pl.DataFrame({"date": axis, "collateral_return": np.linspace(0.0, 2e-4, axis.len())})
    return series, market, collateral


def _spec(index_id: str, family: str, return_type: str = "er", **fields) -> MomentumIndexSpec:
    raw = {"id": index_id, "name": index_id, "family": family, "return_type": return_type, "magnitude": {"cap": CAP}}
    raw.update(fields)
    return MomentumIndexSpec.model_validate(raw)


def _family_specs(**fields) -> list[MomentumIndexSpec]:
    return [
        _spec(f"{short}-{return_type.upper()}", family, return_type, **fields)
        for short, family in FAMILIES.items()
        for return_type in ("er", "tr")
    ]


@pytest.fixture(scope="module")
def synthetic():
    return _synthetic()


@pytest.fixture(scope="module")
def synthetic_results(synthetic):
    series, market, collateral = synthetic
    return compute_momentum(_family_specs(), market, series, collateral)


def _period_returns(result) -> pl.DataFrame:
    """``date, period_return``: C_t / C_anchor - 1 for every date after the first anchor."""
    anchors = result.weights.select(pl.col("effective_date").unique()).sort("effective_date")
    return (
        result.levels.join_asof(
            anchors.with_columns(pl.col("effective_date").alias("anchor")),
            left_on="date",
            right_on="effective_date",
            allow_exact_matches=False,
        )
        .drop_nulls("anchor")
        .join(result.levels.select(pl.col("date").alias("anchor"), pl.col("level").alias("anchor_level")), on="anchor")
        .select("date", (pl.col("level") / pl.col("anchor_level") - 1.0).alias("period_return"))
        .sort("date")
    )


def test_long_short_return_is_long_flat_plus_short_flat_in_every_period(synthetic_results):
    ls, lf, sf = (_period_returns(synthetic_results[f"{name}-ER"]) for name in ("LS", "LF", "SF"))
    np.testing.assert_allclose(
        ls.get_column("period_return").to_numpy(),
        lf.get_column("period_return").to_numpy() + sf.get_column("period_return").to_numpy(),
        rtol=0,
        atol=1e-12,
    )
    # and the test is not vacuous: both legs move
    assert lf.get_column("period_return").abs().max() > 0.01
    assert sf.get_column("period_return").abs().max() > 0.01


def test_short_only_return_is_minus_long_only_in_every_period(synthetic_results):
    lo, so = (_period_returns(synthetic_results[f"{name}-ER"]) for name in ("LO", "SO"))
    np.testing.assert_allclose(
        so.get_column("period_return").to_numpy(), -lo.get_column("period_return").to_numpy(), rtol=0, atol=1e-12
    )


def test_base_date_is_the_first_rebalance_with_twelve_whole_months_of_history(synthetic_results):
    levels = synthetic_results["LS-ER"].levels
    # data from 3 Jan 2000: the window Feb 2000 - Jan 2001 is the first whose months all follow
    # the first observation; the last weekday of January 2001 is Wednesday 31 Jan
    assert levels.item(0, "date") == dt.date(2001, 1, 31)
    assert levels.item(0, "level") == 1000.0
    weights = synthetic_results["LS-ER"].weights
    assert weights.get_column("date").min() == dt.date(2001, 1, 31)
    assert weights.get_column("effective_date").min() == dt.date(2001, 2, 1)


def test_a_late_root_delays_the_base_date_until_its_window_is_full():
    series, market, collateral = _synthetic(late_root_start=dt.date(2000, 6, 15))
    results = compute_momentum([_spec("LS-ER", "long_short")], market, series, collateral)
    # KC from 15 Jun 2000: first full window Jul 2000 - Jun 2001, rebalance Friday 29 Jun 2001
    assert results["LS-ER"].levels.item(0, "date") == dt.date(2001, 6, 29)


def test_weights_file_traces_every_level_to_its_inputs(synthetic, synthetic_results):
    series = synthetic[0]
    result = synthetic_results["LS-ER"]
    weights = result.weights
    assert tuple(weights.columns) == WEIGHTS_COLUMNS
    assert weights.get_column("weight").to_list() == (weights["magnitude"] * weights["direction"]).to_list()
    per_rebalance = weights.group_by("date").agg(
        pl.col("magnitude").sum().alias("total"), pl.col("magnitude").max().alias("largest"), pl.len()
    )
    assert per_rebalance.get_column("len").unique().to_list() == [len(ROOTS)]
    np.testing.assert_allclose(per_rebalance.get_column("total").to_numpy(), 1.0, atol=1e-12)
    assert per_rebalance.get_column("largest").max() <= CAP
    assert per_rebalance.get_column("largest").min() == CAP  # CL's open interest makes the cap bind

    # independent recomputation of the composite on the forward-filled levels
    axis = series.get_column("date").unique().sort()
    wide = (
        series.pivot(on="root", index="date", values="level")
        .join(pl.DataFrame({"date": axis}), on="date", how="right")
        .sort("date")
        .fill_null(strategy="forward")
    )
    dates = wide.get_column("date").to_list()
    matrix = wide.select(sorted(ROOTS)).to_numpy()
    levels = dict(result.levels.select("date", "level").iter_rows())
    anchors = sorted(weights.get_column("effective_date").unique().to_list())
    for anchor, next_anchor in zip(anchors, anchors[1:]):
        period = weights.filter(pl.col("effective_date") == anchor).sort("root")
        w = period.get_column("weight").to_numpy()
        start, end = dates.index(anchor), dates.index(next_anchor)
        expected = levels[anchor] * (1.0 + w @ (matrix[end] / matrix[start] - 1.0))
        assert levels[next_anchor] == pytest.approx(expected, rel=1e-12)


def test_effective_date_is_the_next_axis_date_after_the_month_end(synthetic, synthetic_results):
    axis = synthetic[0].get_column("date").unique().sort().to_list()
    schedule = synthetic_results["LS-ER"].weights.select("date", "effective_date").unique().sort("date")
    for rebalance, effective in schedule.iter_rows():
        assert effective == axis[axis.index(rebalance) + 1]
        assert rebalance.month != effective.month


def test_signal_and_direction_follow_the_trailing_twelve_month_mean(synthetic, synthetic_results):
    series = synthetic[0]
    weights = synthetic_results["LS-ER"].weights
    for row in weights.sample(40, seed=1).iter_rows(named=True):
        rebalance, root = row["date"], row["root"]
        window_start = dt.date(rebalance.year - 1, rebalance.month, 1)
        window_start = dt.date(window_start.year + (window_start.month == 12), window_start.month % 12 + 1, 1)
        own = series.filter((pl.col("root") == root) & (pl.col("date") <= rebalance))
        in_window = own.filter(pl.col("date") >= window_start).get_column("level").to_numpy()
        latest = own.get_column("level").to_list()[-1]
        signal = latest / in_window.mean() - 1.0
        assert row["signal"] == pytest.approx(signal, rel=1e-9, abs=1e-12)
        sign = 1 if signal > 0 else -1
        if INSTRUMENTS[root].sector == "energy":
            assert row["direction"] == max(sign, 0)
        else:
            assert row["direction"] == sign


def test_energy_is_never_short_in_long_short_but_is_in_short_only(synthetic_results):
    energy = pl.col("root").is_in(["CL", "NG"])
    ls = synthetic_results["LS-ER"].weights.filter(energy)
    assert ls.get_column("direction").min() == 0
    assert (ls.get_column("signal") < 0).any()
    assert synthetic_results["SO-ER"].weights.filter(energy).get_column("direction").unique().to_list() == [-1]


def test_total_return_adds_collateral_to_the_same_excess_return(synthetic, synthetic_results):
    collateral = dict(synthetic[2].iter_rows())
    er = synthetic_results["LS-ER"].levels
    tr = synthetic_results["LS-TR"].levels
    assert er.get_column("date").to_list() == tr.get_column("date").to_list()
    er_level, tr_level, dates = er.get_column("level").to_list(), tr.get_column("level").to_list(), er["date"].to_list()
    for t in (1, 200, len(dates) - 1):
        expected = tr_level[t - 1] * (er_level[t] / er_level[t - 1] + collateral[dates[t]])
        assert tr_level[t] == pytest.approx(expected, rel=1e-13)
    assert synthetic_results["LS-TR"].weights is synthetic_results["LS-ER"].weights


def test_flat_only_index_stays_at_its_base_value():
    # Short/Flat over energy alone: energy is always flat in Short/Flat, every month is flat
    series, market, collateral = _synthetic()
    spec = _spec("SF-ENERGY-ER", "short_flat", sectors=["energy"], magnitude={"cap": 0.5})
    levels = compute_momentum([spec], market, series, collateral)["SF-ENERGY-ER"].levels
    assert levels.get_column("level").unique().to_list() == [1000.0]


def test_sector_index_renormalises_magnitude_within_the_sector(synthetic):
    series, market, collateral = synthetic
    spec = _spec("LS-METALS-ER", "long_short", sectors=["base_metals", "precious_metals"], magnitude={"cap": 0.5})
    weights = compute_momentum([spec], market, series, collateral)["LS-METALS-ER"].weights
    assert sorted(weights.get_column("root").unique().to_list()) == ["GC", "HG", "SI"]
    totals = weights.group_by("date").agg(pl.col("magnitude").sum()).get_column("magnitude").to_numpy()
    np.testing.assert_allclose(totals, 1.0, atol=1e-12)


def test_sector_with_fewer_roots_than_the_cap_allows_is_rejected(synthetic):
    series, market, collateral = synthetic
    spec = _spec("LS-ENERGY-ER", "long_short", sectors=["energy"], magnitude={"cap": 0.35})
    with pytest.raises(SpecError, match=r"index LS-ENERGY-ER: magnitude cap 0.35 cannot hold over its 2 roots \(CL, NG\)"):
        compute_momentum([spec], market, series, collateral)


def test_named_universe_too_small_for_the_cap_is_rejected_when_the_spec_is_read():
    with pytest.raises(ValueError, match="cap 0.1 cannot hold over 3 roots"):
        MomentumIndexSpec.model_validate(
            {"id": "X", "name": "X", "family": "long_only", "universe": ["CL", "GC", "C"]}
        )


def test_missing_open_interest_names_the_root_and_suggests_other_sources(synthetic):
    series, market, collateral = synthetic
    prices = market.prices.with_columns(
        pl.when(pl.col("root") == "KC").then(None).otherwise(pl.col("open_interest")).alias("open_interest")
    )
    market = MarketData(prices=prices, instruments=market.instruments)
    with pytest.raises(SpecError, match=r"root KC: open interest or settle missing .*use source 'cftc' or 'fixed'"):
        compute_momentum([_spec("LS-ER", "long_short")], market, series, collateral)


def test_fixed_magnitude_needs_no_open_interest(synthetic):
    series, market, collateral = synthetic
    market = MarketData(prices=market.prices.with_columns(pl.lit(None, pl.Float64).alias("open_interest")), instruments=market.instruments)
    spec = _spec("LO-FIXED", "long_only", magnitude={"source": "fixed", "cap": CAP, "fixed_weights": dict.fromkeys(ROOTS, 1.0)})
    weights = compute_momentum([spec], market, series, collateral)["LO-FIXED"].weights
    assert weights.get_column("magnitude").unique().to_list() == [1.0 / len(ROOTS)]


def test_history_shorter_than_the_window_is_a_spec_error(synthetic):
    series, market, collateral = synthetic
    short = series.filter(pl.col("date") < dt.date(2000, 9, 1))
    with pytest.raises(SpecError, match=r"index LS-ER: no rebalance date .* 12 months of price and open-interest history"):
        compute_momentum([_spec("LS-ER", "long_short")], market, short, collateral)


# ---- the full embedded history (23 roots, 1995 to date) ------------------------------------


@pytest.fixture(scope="module")
def embedded_results(embedded_market, embedded_series):
    """Every momentum index of the catalogue, plus a Short/Flat over energy (always flat)."""
    from indexcalc.collateral import collateral_returns
    from indexcalc.catalogue import load_catalogue

    specs = [spec for spec in load_catalogue() if spec.kind == "momentum"]
    specs.append(_spec("SF-ENERGY-ER", "short_flat", sectors=["energy"], magnitude={"cap": 0.35}))
    specs.append(_spec("LO-FIXED-ER", "long_only", magnitude={"cap": 0.1}, base_value=1000.0))
    collateral = collateral_returns(embedded_market.rates, embedded_series.get_column("date").unique().sort())
    return compute_momentum(specs, embedded_market, embedded_series, collateral)


def test_full_history_long_short_is_long_flat_plus_short_flat_in_every_period(embedded_results):
    ls, lf, sf = (_period_returns(embedded_results[f"{name}-ER"]) for name in ("LS", "LF", "SF"))
    assert ls.get_column("date").to_list() == lf.get_column("date").to_list() == sf.get_column("date").to_list()
    gap = (ls["period_return"] - lf["period_return"] - sf["period_return"]).abs().max()
    assert gap <= 1e-12
    assert ls.height > 7000  # every day from 1996 on is in some period


def test_full_history_short_only_is_minus_long_only_in_every_period(embedded_results):
    lo, so = (_period_returns(embedded_results[f"{name}-ER"]) for name in ("LO", "SO"))
    assert (so["period_return"] + lo["period_return"]).abs().max() <= 1e-12


def test_full_history_flat_periods_keep_the_excess_return_level_constant(embedded_results):
    # the energy Short/Flat is flat in every period: its level never leaves the base value
    assert embedded_results["SF-ENERGY-ER"].levels.get_column("level").unique().to_list() == [1000.0]
    # and any all-flat period of a published index (energy all short in LS-ENERGY) is constant
    checked = 0
    for index_id, result in embedded_results.items():
        if not index_id.endswith("-ER") or index_id == "SF-ENERGY-ER":
            continue
        flat = result.weights.group_by("effective_date").agg((pl.col("weight") == 0).all().alias("flat"))
        anchors = flat.sort("effective_date")
        dates = anchors.get_column("effective_date").to_list()
        for position, (anchor, is_flat) in enumerate(anchors.iter_rows()):
            if not is_flat or position + 1 == len(dates):
                continue
            period = result.levels.filter(pl.col("date").is_between(anchor, dates[position + 1]))
            assert period.get_column("level").n_unique() == 1, (index_id, anchor)
            checked += 1
    assert checked > 0


def test_full_history_weights_respect_cap_and_energy_rule(embedded_results):
    for index_id, result in embedded_results.items():
        weights = result.weights
        cap = result.spec.magnitude.cap
        per_rebalance = weights.group_by("date").agg(pl.col("magnitude").sum(), pl.col("magnitude").max().alias("largest"))
        np.testing.assert_allclose(per_rebalance.get_column("magnitude").to_numpy(), 1.0, atol=1e-12, err_msg=index_id)
        assert per_rebalance.get_column("largest").max() <= cap, index_id
        assert weights.get_column("weight").is_finite().all(), index_id
    energy = pl.col("root").is_in(["CL", "CO", "NG", "RB", "HO"])
    assert embedded_results["LS-ER"].weights.filter(energy).get_column("direction").min() == 0
    assert (embedded_results["LS-ER"].weights.get_column("direction") == -1).any()


def test_full_history_starts_at_base_value_on_the_first_month_end_with_a_full_year(embedded_results, embedded_series):
    # every root starts on the first date (after the first of its month): the first window whose
    # 12 months all follow it ends 12 months later, at that month's last axis date
    first_date = embedded_series.get_column("date").min()
    assert embedded_series.group_by("root").agg(pl.col("date").min()).get_column("date").unique().to_list() == [first_date]
    assert first_date.day > 1
    base_month = (embedded_series.get_column("date").dt.month_start() == dt.date(first_date.year + 1, first_date.month, 1))
    expected_base = embedded_series.filter(base_month).get_column("date").max()
    for index_id, result in embedded_results.items():
        levels = result.levels
        assert levels.item(0, "date") == expected_base, index_id
        assert levels.item(0, "level") == result.spec.base_value, index_id
        assert levels.get_column("level").is_finite().all() and (levels.get_column("level") > 0).all(), index_id
        assert result.weights.get_column("date").min() == expected_base


# ---- real data: pysystemtrade roots -----------------------------------------------------


@pytest.mark.realdata
def test_real_long_only_with_equal_fixed_weights_is_the_mean_of_root_period_returns(
    pysystemtrade_market, pysystemtrade_series
):
    roots = pysystemtrade_market.roots
    assert len(roots) == 10
    spec = _spec(
        "LO-REAL-ER",
        "long_only",
        universe=roots,
        magnitude={"source": "fixed", "cap": 0.1, "fixed_weights": dict.fromkeys(roots, 1.0)},
    )
    axis = pysystemtrade_series.get_column("date").unique().sort()
    collateral = pl.DataFrame({"date": axis, "collateral_return": 0.0})
    result = compute_momentum([spec], pysystemtrade_market, pysystemtrade_series, collateral)["LO-REAL-ER"]
    anchors = result.weights.get_column("effective_date")
    periods = assert_equal_weight_long_only_is_the_mean_of_root_period_returns(
        result.levels, anchors, pysystemtrade_series, roots
    )
    assert periods > 150
    # the base date waits for the latest root (COFFEE from February 2007) to have a full year
    assert result.levels.item(0, "date") == dt.date(2008, 2, 29)


@pytest.mark.realdata
def test_real_cftc_magnitude_is_the_capped_share_of_average_dollar_open_interest(
    pysystemtrade_market, pysystemtrade_series, shared_real_dir
):
    import pandas as pd

    cftc_file = shared_real_dir / "cftc_open_interest_metals.csv"
    markets = {"COPPER": "copper", "GOLD": "gold", "PALLAD": "palladium"}
    spec = _spec(
        "LS-CFTC-ER",
        "long_short",
        universe=list(markets),
        magnitude={"source": "cftc", "cap": 0.5, "cftc_file": str(cftc_file), "cftc_markets": markets},
    )
    axis = pysystemtrade_series.get_column("date").unique().sort()
    collateral = pl.DataFrame({"date": axis, "collateral_return": 0.0})
    weights = compute_momentum([spec], pysystemtrade_market, pysystemtrade_series, collateral)["LS-CFTC-ER"].weights
    # reports from June 2006, known 3 days later: the first 12 whole months are Jul 2006 - Jun 2007
    assert weights.get_column("date").min() == dt.date(2007, 6, 29)

    # independently (pandas): as-of merge of the released reports on each root's days, valued at
    # the day's nearest contract, averaged over the 12 calendar months, normalised and capped
    reports = pd.read_csv(cftc_file, parse_dates=["report_date"])
    reports["report_date"] = reports["report_date"].astype("datetime64[ns]")
    prices = pysystemtrade_market.prices.to_pandas()
    rebalance = pd.Timestamp(2015, 6, 30)
    averages = {}
    for root, market in markets.items():
        days = prices[prices["root"] == root].sort_values(["date", "contract"]).groupby("date").first()["settle"]
        days.index = pd.to_datetime(days.index).astype("datetime64[ns]")
        released = reports[reports["market"] == market].assign(date=lambda f: f["report_date"] + pd.Timedelta(days=3))
        daily = pd.merge_asof(days.rename("settle").reset_index(), released[["date", "open_interest"]], on="date")
        daily["dollar_oi"] = daily["open_interest"] * pysystemtrade_market.instruments[root].multiplier * daily["settle"]
        window = daily[(daily["date"] > pd.Timestamp(2014, 6, 30)) & (daily["date"] <= rebalance)]
        averages[root] = window["dollar_oi"].mean()
    raw = pd.Series(averages) / sum(averages.values())
    heavy = raw.idxmax()
    assert raw[heavy] > 0.5  # gold dominates: the cap binds
    expected = raw.drop(heavy) / raw.drop(heavy).sum() * 0.5
    expected[heavy] = 0.5
    actual = dict(weights.filter(pl.col("date") == dt.date(2015, 6, 30)).select("root", "magnitude").iter_rows())
    for root in markets:
        assert actual[root] == pytest.approx(expected[root], rel=1e-12), root


@pytest.mark.realdata
@pytest.mark.slow
@pytest.mark.parametrize("reconstitution", [None, {"month": 12, "min_dollar_open_interest": 0.0}])
def test_real_cftc_fallback_gives_unreported_roots_one_over_n_and_the_metals_the_rest_by_open_interest(
    pysystemtrade_market, pysystemtrade_series, shared_real_dir, reconstitution
):
    # Ten roots, three reported by the CFTC file, cap 1 (not binding): at every rebalance each of
    # the seven others has 1/10 and the three metals share 3/10 as in the metals-only cftc index
    # (their capped = uncapped shares there): m_i = 3/10 * avgDOI_i / sum_metals avgDOI_j.
    cftc_file = str(shared_real_dir / "cftc_open_interest_metals.csv")
    markets = {"COPPER": "copper", "GOLD": "gold", "PALLAD": "palladium"}
    roots = ["BRENT_W", "COPPER", "CORN", "CRUDE_W", "GAS_US", "GOLD", "PALLAD", "SOYBEAN", "WHEAT", "COFFEE"]
    mixed = _spec(
        "LS-MIXED-ER", "long_short", universe=roots, reconstitution=reconstitution,
        magnitude={"source": "cftc", "cap": 1.0, "cftc_file": cftc_file, "cftc_markets": markets,
                   "cftc_fallback": "mean_of_reported"},
    )
    metals = _spec("LS-M-ER", "long_short", universe=list(markets),
                   magnitude={"source": "cftc", "cap": 1.0, "cftc_file": cftc_file, "cftc_markets": markets})
    axis = pysystemtrade_series.get_column("date").unique().sort()
    collateral = pl.DataFrame({"date": axis, "collateral_return": 0.0})
    results = compute_momentum([mixed, metals], pysystemtrade_market, pysystemtrade_series, collateral)
    both = results["LS-MIXED-ER"].weights.join(
        results["LS-M-ER"].weights.select("date", "root", pl.col("magnitude").alias("metals_only")),
        on=["date", "root"], how="left",
    )
    members = both.group_by("date").agg(pl.len().alias("n"))
    both = both.join(members, on="date")
    # (the metals-only axis is CME's: a month-end on which only ICE trades is no rebalance there)
    reported = both.filter(pl.col("root").is_in(list(markets)) & pl.col("metals_only").is_not_null())
    assert reported.height > 3 * 180
    others = both.filter(~pl.col("root").is_in(list(markets)))
    np.testing.assert_allclose(others["magnitude"], 1.0 / others["n"], rtol=1e-12)
    np.testing.assert_allclose(reported["magnitude"], 3.0 / reported["n"] * reported["metals_only"], rtol=1e-12)
    if reconstitution is None:  # a fixed universe waits for COFFEE's full year
        assert both.get_column("date").min() == dt.date(2008, 2, 29) and set(members["n"]) == {10}
    else:  # reconstituted: starts with the CFTC window, COFFEE enters in December 2008
        assert both.get_column("date").min() == dt.date(2007, 6, 29) and set(members["n"]) == {9, 10}


def test_cli_rejects_a_named_universe_too_small_for_the_cap_in_one_line(tmp_path):
    from click.testing import CliRunner

    from indexcalc.cli import main

    (tmp_path / "momentum.toml").write_text(
        '[[index]]\nid = "LS-SMALL-ER"\nkind = "momentum"\nname = "Small"\nfamily = "long_short"\n'
        'universe = ["CL", "GC", "C"]\n'
    )
    outcome = CliRunner().invoke(main, ["list", "--catalogue", str(tmp_path)])
    assert outcome.exit_code == 2
    message = outcome.output.strip()
    assert "\n" not in message
    assert "momentum.toml: index LS-SMALL-ER:" in message
    assert "magnitude cap 0.1 cannot hold over 3 roots (needs a cap of at least 0.3333)" in message


@pytest.mark.parametrize("last_date", [dt.date(2002, 5, 31), dt.date(2002, 6, 14)])
def test_levels_computed_on_data_up_to_a_day_equal_the_full_history_up_to_that_day(synthetic, synthetic_results, last_date):
    # a daily run sees the data up to its date; a later rebuild must publish the same history
    series, market, collateral = synthetic
    cut = pl.col("date") <= last_date
    partial = compute_momentum(
        _family_specs(), market.up_to(last_date), series.filter(cut), collateral.filter(cut)
    )
    for index_id, result in partial.items():
        full = synthetic_results[index_id]
        np.testing.assert_allclose(
            result.levels.get_column("level").to_numpy(),
            full.levels.filter(cut).get_column("level").to_numpy(),
            rtol=1e-13,
            atol=0,
            err_msg=index_id,
        )
        # the May rebalance is only known once June data exists
        expected_rebalances = full.weights.filter(pl.col("effective_date") <= last_date)
        assert result.weights.equals(expected_rebalances), index_id


def test_missing_inputs_names_what_the_market_lacks(synthetic):
    from indexcalc.families.momentum.compute import missing_inputs

    _, market, _ = synthetic
    energy = _spec("LS-ENERGY-ER", "long_short", sectors=["energy"], magnitude={"cap": 0.35})
    assert missing_inputs(energy, market) == "magnitude cap 0.35 cannot hold over its 2 roots in this market (CL, NG)"
    assert missing_inputs(_spec("LS-ER", "long_short"), market) is None
    without_oi = MarketData(prices=market.prices.with_columns(pl.lit(None, pl.Float64).alias("open_interest")),
                            instruments=market.instruments)
    assert "no open interest in the market data" in missing_inputs(_spec("LS-ER", "long_short"), without_oi)
    fixed = _spec("LO-FIXED", "long_only", magnitude={"source": "fixed", "cap": CAP, "fixed_weights": dict.fromkeys(ROOTS, 1.0)})
    assert missing_inputs(fixed, without_oi) is None


# ---- annual reconstitution (spec.reconstitution) ----------------------------------------------

RECON_ROOTS = ["C", "GC", "HG", "KC", "W"]
RECON_CAP = 0.3  # needs ceil(1 / 0.3) = 4 members
MILLION = 1e6
DOI_REGIMES = {
    # from date: dollar open interest (USD millions) per root, constant until the next regime
    dt.date(2000, 1, 1): {"C": 50.0, "GC": 30.0, "HG": 20.0, "KC": 5.0, "W": 15.0},
    dt.date(2000, 7, 1): {"C": 50.0, "GC": 30.0, "HG": 20.0, "KC": 40.0, "W": 5.0},
}


def _recon_market(regimes: dict[dt.date, dict[str, float]] = DOI_REGIMES, seed: int = 3):
    """Series, market and collateral over weekdays 3 Jan 2000 - 31 Jan 2002 for RECON_ROOTS: one
    contract per root whose settle is the root's level (a random walk) and whose open interest
    makes the dollar open interest (OI x multiplier x settle) the regime's constant value."""
    rng = np.random.default_rng(seed)
    days = pl.date_range(dt.date(2000, 1, 3), dt.date(2002, 1, 31), "1d", eager=True)
    days = days.filter(days.dt.weekday() <= 5)
    starts = sorted(regimes)
    regime = np.searchsorted(np.array(starts, dtype="datetime64[D]"), days.to_numpy(), side="right") - 1
    frames = []
    for root in RECON_ROOTS:
        levels = 100.0 * np.cumprod(1.0 + 0.01 * rng.standard_normal(len(days)))
        dollar_oi = np.array([regimes[start][root] * MILLION for start in starts])[regime]
        frames.append(pl.DataFrame({"date": days, "root": root, "level": levels, "dollar_oi": dollar_oi}))
    frame = pl.concat(frames)
    multiplier = pl.col("root").replace_strict({root: INSTRUMENTS[root].multiplier for root in RECON_ROOTS},
                                               return_dtype=pl.Float64)
    prices = frame.select(
        "date", "root", pl.lit(200001, dtype=pl.Int32).alias("contract"), pl.col("level").alias("settle"),
        pl.lit(1.0).alias("volume"), (pl.col("dollar_oi") / (pl.col("level") * multiplier)).alias("open_interest"),
    )
    series = frame.select(
        "date", "root", "level",
        (pl.col("level") / pl.col("level").shift(1).over("root") - 1.0).fill_null(0.0).alias("daily_return"),
    )
    market = MarketData(prices=prices, instruments={root: INSTRUMENTS[root] for root in RECON_ROOTS})
    collateral = pl.DataFrame({"date": days, "collateral_return": 1e-4})
    return series, market, collateral


def _recon_spec(index_id: str = "LS-RECON-ER", family: str = "long_short", **reconstitution) -> MomentumIndexSpec:
    """3-month windows, cap 0.3, December reconstitution with a USD 10 million threshold."""
    return _spec(
        index_id,
        family,
        magnitude={"cap": RECON_CAP, "window_months": 3},
        direction={"window_months": 3},
        reconstitution={"month": 12, "min_dollar_open_interest": 10 * MILLION} | reconstitution,
    )


def _members(weights: pl.DataFrame) -> dict[dt.date, list[str]]:
    return dict(weights.group_by("date").agg(pl.col("root").sort()).sort("date").iter_rows())


def _magnitudes(weights: pl.DataFrame, date: dt.date) -> dict[str, float]:
    return dict(weights.filter(pl.col("date") == date).select("root", "magnitude").iter_rows())


@pytest.fixture(scope="module")
def recon_result():
    series, market, collateral = _recon_market()
    return compute_momentum([_recon_spec()], market, series, collateral)["LS-RECON-ER"]


def test_universe_changes_exactly_at_the_reconstitution_rebalance(recon_result):
    # 3-month windows from 3 Jan 2000: the first full window is Feb-Apr, rebalance Fri 28 Apr 2000,
    # where C 50, GC 30, HG 20, W 15 pass USD 10m and KC 5 does not: 4 members, enough for the
    # cap, so that is the base date. From July KC has 40 and W 5, but the universe holds until the
    # December rebalance (Fri 29 Dec 2000): then C, GC, HG, KC; on 31 Dec 2001 the same again.
    members = _members(recon_result.weights)
    assert min(members) == dt.date(2000, 4, 28)
    assert recon_result.levels.item(0, "date") == dt.date(2000, 4, 28)
    assert len(members) == 21  # Apr 2000 - Dec 2001 (Jan 2002 has no later month yet)
    before, after = ["C", "GC", "HG", "W"], ["C", "GC", "HG", "KC"]
    for date, roots in members.items():
        assert roots == (before if date < dt.date(2000, 12, 29) else after), date
    changes = [date for date, previous in zip(list(members)[1:], list(members)) if members[date] != members[previous]]
    assert changes == [dt.date(2000, 12, 29)]
    assert tuple(recon_result.weights.columns) == WEIGHTS_COLUMNS


def test_reconstituted_magnitude_is_renormalised_and_capped_over_the_members(recon_result):
    weights = recon_result.weights
    # 28 Apr 2000: C 50, GC 30, HG 20, W 15 (sum 115): C 0.4348 -> 0.3, rest x 0.7/0.5652:
    # GC 0.3231 -> 0.3, rest x 0.4/0.3769: HG 20/35 x 0.4 = 8/35, W 15/35 x 0.4 = 6/35
    assert _magnitudes(weights, dt.date(2000, 4, 28)) == pytest.approx(
        {"C": 0.3, "GC": 0.3, "HG": 8 / 35, "W": 6 / 35}, rel=1e-12)
    # 29 Sep 2000 (window Jul-Sep, all the July regime): W's 5 is below the threshold but W stays
    # until December, KC's 40 waits outside. C 50, GC 30, HG 20, W 5 (sum 105): C, GC and HG
    # capped in turn (0.4762, 0.3818, 0.32) and W takes the remaining 0.1
    assert _magnitudes(weights, dt.date(2000, 9, 29)) == pytest.approx(
        {"C": 0.3, "GC": 0.3, "HG": 0.3, "W": 0.1}, rel=1e-12)
    # 29 Dec 2000: C 50, GC 30, HG 20, KC 40 (sum 140): C 0.3571 -> 0.3, rest x 0.7/0.6429:
    # KC 0.3111 -> 0.3, rest x 0.4/0.3889: GC 30/50 x 0.4 = 0.24, HG 0.16
    assert _magnitudes(weights, dt.date(2000, 12, 29)) == pytest.approx(
        {"C": 0.3, "GC": 0.24, "HG": 0.16, "KC": 0.3}, rel=1e-12)
    totals = weights.group_by("date").agg(pl.col("magnitude").sum(), pl.col("magnitude").max().alias("largest"))
    np.testing.assert_allclose(totals.get_column("magnitude").to_numpy(), 1.0, rtol=0, atol=1e-12)
    assert totals.get_column("largest").max() <= RECON_CAP
    assert (weights.get_column("weight") == weights["magnitude"] * weights["direction"]).all()


def test_universe_table_publishes_each_choice_with_its_averages_and_ranks(recon_result):
    universe = recon_result.tables["universe"]
    assert universe.get_column("date").unique().sort().to_list() == [
        dt.date(2000, 4, 28), dt.date(2000, 12, 29), dt.date(2001, 12, 31)
    ]
    december = {
        row["root"]: row for row in universe.filter(pl.col("date") == dt.date(2000, 12, 29)).iter_rows(named=True)
    }
    # averages over Oct-Dec 2000: C 50, KC 40, GC 30, HG 20 pass (ranks 1-4), W 5 does not
    for root, average in {"C": 50, "GC": 30, "HG": 20, "KC": 40, "W": 5}.items():
        assert december[root]["average_dollar_open_interest"] == pytest.approx(average * MILLION, rel=1e-12)
    assert {root: row["rank"] for root, row in december.items()} == {"C": 1, "KC": 2, "GC": 3, "HG": 4, "W": None}
    assert {root for root, row in december.items() if row["member"]} == {"C", "GC", "HG", "KC"}
    # the levels use the members' weights: every root weighted in a period is a member of its choice
    assert recon_result.weights.filter(pl.col("root") == "W", pl.col("date") >= dt.date(2000, 12, 29)).height == 0


def test_max_roots_keeps_the_largest_eligible_roots():
    # threshold USD 1m (every root passes), at most 4 roots: on 28 Apr 2000 the largest four are
    # C 50, GC 30, HG 20, W 15 (KC 5 is fifth); on 29 Dec 2000, C 50, KC 40, GC 30, HG 20 (W 5 is
    # fifth). With a cap of 0.25 and four members every magnitude is exactly 1/4.
    series, market, collateral = _recon_market()
    spec = _spec("LS-TOP4-ER", "long_short", magnitude={"cap": 0.25, "window_months": 3},
                 direction={"window_months": 3}, reconstitution={"min_dollar_open_interest": MILLION, "max_roots": 4})
    result = compute_momentum([spec], market, series, collateral)["LS-TOP4-ER"]
    members = _members(result.weights)
    assert members[dt.date(2000, 4, 28)] == members[dt.date(2000, 11, 30)] == ["C", "GC", "HG", "W"]
    assert members[dt.date(2000, 12, 29)] == members[dt.date(2001, 12, 31)] == ["C", "GC", "HG", "KC"]
    np.testing.assert_allclose(result.weights.get_column("magnitude").to_numpy(), 0.25, rtol=0, atol=1e-15)
    universe = result.tables["universe"].filter(pl.col("date") == dt.date(2000, 4, 28))
    assert universe.filter(pl.col("eligible")).height == 5 and universe.filter(pl.col("member")).height == 4


def test_too_few_members_at_a_reconstitution_names_the_index_and_the_date():
    # from July 2001 HG falls to 5: at the 31 Dec 2001 reconstitution only C 50, KC 40, GC 30 pass
    regimes = DOI_REGIMES | {dt.date(2001, 7, 1): {"C": 50.0, "GC": 30.0, "HG": 5.0, "KC": 40.0, "W": 5.0}}
    series, market, collateral = _recon_market(regimes)
    with pytest.raises(SpecError) as raised:
        compute_momentum([_recon_spec()], market, series, collateral)
    assert str(raised.value) == (
        "index LS-RECON-ER: reconstitution on 2001-12-31: 3 root(s) (C, GC, KC) have full 3-month windows and an "
        "average dollar open interest of at least 10,000,000 USD; magnitude cap 0.3 needs at least 4"
    )
    # the data up to November 2001 is still computable: the error belongs to that reconstitution
    cut = pl.col("date") <= dt.date(2001, 12, 14)
    partial = compute_momentum([_recon_spec()], market.up_to(dt.date(2001, 12, 14)), series.filter(cut), collateral)
    assert max(_members(partial["LS-RECON-ER"].weights)) == dt.date(2001, 11, 30)


def test_a_threshold_no_four_roots_ever_pass_is_a_spec_error():
    series, market, collateral = _recon_market()
    with pytest.raises(SpecError, match=r"index LS-RECON-ER: no rebalance date at which the 4 roots that magnitude "
                                        r"cap 0.3 needs have full 3-month windows and an average dollar open interest "
                                        r"of at least 45,000,000 USD \(the most: 1 on 2000-04-28\)"):
        compute_momentum([_recon_spec(min_dollar_open_interest=45 * MILLION)], market, series, collateral)


def test_a_root_with_a_late_history_enters_at_the_first_reconstitution_after_its_window_is_full():
    # KC starts on 15 Jun 2000: without reconstitution the index waits for it (base 29 Jun 2001,
    # test above); with reconstitution the other seven start on 31 Jan 2001 and KC, whose
    # 12-month window is full from June 2001, joins at the December 2001 reconstitution
    series, market, collateral = _synthetic(late_root_start=dt.date(2000, 6, 15))
    spec = _spec("LS-RECON-ER", "long_short", reconstitution={"min_dollar_open_interest": 0.0})
    weights = compute_momentum([spec], market, series, collateral)["LS-RECON-ER"].weights
    assert weights.get_column("date").min() == dt.date(2001, 1, 31)
    assert weights.filter(pl.col("root") == "KC").get_column("date").min() == dt.date(2001, 12, 31)
    assert set(_members(weights)[dt.date(2001, 11, 30)]) == set(ROOTS) - {"KC"}


def _catalogue_headline_reconstitution() -> dict:
    """The reconstitution every headline index of the catalogue has (LS-ER's; the test below
    checks that it is the same for every family, variant and sector index)."""
    from indexcalc.catalogue import load_catalogue

    [spec] = [spec for spec in load_catalogue() if spec.id == "LS-ER"]
    return spec.reconstitution.model_dump()


def test_every_momentum_index_of_the_catalogue_reconstitutes_every_december():
    from indexcalc.catalogue import load_catalogue

    specs = [spec for spec in load_catalogue() if spec.kind == "momentum"]
    assert len(specs) == 17
    assert all(spec.reconstitution is not None and spec.reconstitution.month == 12 for spec in specs)
    headline = {spec.id: spec.reconstitution.model_dump() for spec in specs if spec.id != "LS-RECON-ER"}
    assert headline and all(value == _catalogue_headline_reconstitution() for value in headline.values())


@pytest.fixture(scope="module")
def late_root_results():
    """Every family in ER and TR with the catalogue's headline reconstitution, on the synthetic
    market whose KC starts on 15 Jun 2000 (cap 0.2: five roots needed, seven have full windows
    from January 2001)."""
    series, market, collateral = _synthetic(late_root_start=dt.date(2000, 6, 15))
    specs = _family_specs(reconstitution=_catalogue_headline_reconstitution())
    return compute_momentum(specs, market, series, collateral)


@pytest.mark.parametrize("index_id", [f"{short}-{kind}" for short in FAMILIES for kind in ("ER", "TR")])
def test_a_late_root_enters_every_family_variant_at_the_first_december_after_its_window_is_full(
    late_root_results, index_id
):
    # KC's first full 12-month window is July 2000 - June 2001: it is not in the universe chosen
    # at the base date (31 Jan 2001) and enters at the December 2001 reconstitution, held from
    # the next axis day (1 Jan 2002, a weekday); the other seven hold from the base date on
    result = late_root_results[index_id]
    assert result.levels.item(0, "date") == dt.date(2001, 1, 31)
    assert result.levels.item(0, "level") == 1000.0
    members = _members(result.weights)
    assert min(members) == dt.date(2001, 1, 31)
    for date, roots in members.items():
        expected = set(ROOTS) if date >= dt.date(2001, 12, 31) else set(ROOTS) - {"KC"}
        assert set(roots) == expected, date
    kc = result.weights.filter(pl.col("root") == "KC")
    assert kc.get_column("effective_date").min() == dt.date(2002, 1, 1)
    # its magnitude is its capped share among the eight from then on: dollar open interest
    # 1, 4, 9, 16, 25, 36, 49, 64 (C, CL, GC, HG, KC, NG, SI, W; sum 204); W 64/204 and SI 49/204
    # are capped at 0.2, then NG (36/91 of the remaining 0.6 > 0.2), leaving 0.4 to 1+4+9+16+25 = 55
    assert kc.get_column("magnitude").to_numpy() == pytest.approx(np.full(kc.height, 0.4 * 25 / 55), abs=1e-12)
    universe = result.tables["universe"]
    assert universe.filter(pl.col("root") == "KC").select("date", "full_window", "member").rows() == [
        (dt.date(2001, 1, 31), False, False), (dt.date(2001, 12, 31), True, True)
    ]  # (31 Dec 2002, the data's last day, has no effective date: no rebalance)


def test_family_identities_hold_in_every_period_across_the_late_root_s_entry(late_root_results):
    ls, lf, sf, lo, so = (_period_returns(late_root_results[f"{name}-ER"]) for name in FAMILIES)
    assert ls.get_column("date").to_list() == lf.get_column("date").to_list() == sf.get_column("date").to_list()
    assert (ls["period_return"] - lf["period_return"] - sf["period_return"]).abs().max() <= 1e-12
    assert (so["period_return"] + lo["period_return"]).abs().max() <= 1e-12
    # the periods compared span KC's entry, and both legs move
    assert ls.get_column("date").min() < dt.date(2002, 1, 1) < ls.get_column("date").max()
    assert lf["period_return"].abs().max() > 0.01 and sf["period_return"].abs().max() > 0.01
    # TR = ER plus collateral, the same ER levels for ER and TR
    for name in FAMILIES:
        assert late_root_results[f"{name}-TR"].excess.equals(late_root_results[f"{name}-ER"].levels)


def test_a_fixed_weight_index_reconstitutes_on_full_windows_and_shares_its_weights_among_members():
    # equal fixed weights, no open interest needed: KC (from 15 Jun 2000) enters in December
    # 2001 as with open-interest magnitudes; before, the seven others hold 1/7 each, then 1/8
    series, market, collateral = _synthetic(late_root_start=dt.date(2000, 6, 15))
    market = replace(market, prices=market.prices.with_columns(pl.lit(None, dtype=pl.Float64).alias("open_interest")))
    fixed = {"source": "fixed", "fixed_weights": dict.fromkeys(ROOTS, 1.0), "cap": CAP}
    specs = [_spec(f"{short}-EW-ER", family, magnitude=fixed, reconstitution={"min_dollar_open_interest": 0.0})
             for short, family in FAMILIES.items()]
    results = compute_momentum(specs, market, series, collateral)
    weights = results["LO-EW-ER"].weights
    assert weights.get_column("date").min() == dt.date(2001, 1, 31)
    for date, roots in _members(weights).items():
        expected = set(ROOTS) if date >= dt.date(2001, 12, 31) else set(ROOTS) - {"KC"}
        assert set(roots) == expected, date
        magnitudes = weights.filter(pl.col("date") == date).get_column("magnitude")
        assert (magnitudes - 1 / len(expected)).abs().max() <= 1e-15
    ls, lf, sf, lo, so = (_period_returns(results[f"{name}-EW-ER"]) for name in FAMILIES)
    assert (ls["period_return"] - lf["period_return"] - sf["period_return"]).abs().max() <= 1e-12
    assert (so["period_return"] + lo["period_return"]).abs().max() <= 1e-12
    # a threshold or a max_roots needs open interest
    with pytest.raises(ValueError, match="set min_dollar_open_interest = 0 and no max_roots"):
        _spec("X", "long_short", magnitude=fixed, reconstitution={"min_dollar_open_interest": 0.0, "max_roots": 6})


def test_reconstitution_needs_an_open_interest_magnitude_and_a_max_roots_the_cap_can_hold():
    with pytest.raises(ValueError, match="magnitude source 'fixed' has none"):
        _spec("X", "long_short", magnitude={"source": "fixed", "fixed_weights": dict.fromkeys(ROOTS, 1.0), "cap": CAP},
              reconstitution={"min_dollar_open_interest": 1.0})
    with pytest.raises(ValueError, match=r"cap 0.1 cannot hold over reconstitution.max_roots 9 \(needs at least 10\)"):
        MomentumIndexSpec.model_validate({"id": "X", "name": "X", "family": "long_short",
                                          "reconstitution": {"min_dollar_open_interest": 1.0, "max_roots": 9}})


def test_cli_reports_a_reconstitution_spec_error_in_one_line(tmp_path):
    from click.testing import CliRunner

    from indexcalc.cli import main

    (tmp_path / "momentum.toml").write_text(
        '[[index]]\nid = "LS-RECON-ER"\nkind = "momentum"\nname = "Recon"\nfamily = "long_short"\n'
        '[index.reconstitution]\nmonth = 13\nmin_dollar_open_interest = 1e9\n'
    )
    outcome = CliRunner().invoke(main, ["list", "--catalogue", str(tmp_path)])
    assert outcome.exit_code == 2
    message = outcome.output.strip()
    assert "\n" not in message
    assert ("momentum.toml: index LS-RECON-ER: momentum.reconstitution.month: "
            "Input should be less than or equal to 12") in message


def test_methodology_describes_the_reconstitution_only_when_it_is_set():
    from indexcalc.publish.methodology import render_methodology

    plain = render_methodology(_spec("LS-ER", "long_short", magnitude={"cap": 0.1}), INSTRUMENTS)
    assert "reconstituted" not in plain
    recon = _spec("LS-RECON-ER", "long_short", magnitude={"cap": 0.125},
                  reconstitution={"month": 6, "min_dollar_open_interest": 1.5e9, "max_roots": 15})
    html = render_methodology(recon, INSTRUMENTS)
    paragraph = " ".join(html.split("<p data-reconstitution>")[1].split("</p>")[0].split())
    assert "At the rebalance of June each year" in paragraph
    assert "over the 12 months ending at that date is at least USD 1,500,000,000, keeping the 15 largest" in paragraph
    assert "at least 8 commodities have complete history" in paragraph


# ---- reconstitution on the embedded market ----------------------------------------------------


def _catalogue_reconstitution() -> dict:
    from indexcalc.catalogue import load_catalogue

    [spec] = [spec for spec in load_catalogue() if spec.id == "LS-RECON-ER"]
    return spec.reconstitution.model_dump()


@pytest.fixture(scope="module")
def embedded_recon_results(embedded_market, embedded_series):
    """The five families with the catalogue's reconstitution (ER), LS also in TR, and a Long-Only
    whose reconstitution keeps every root (threshold 0)."""
    from indexcalc.collateral import collateral_returns

    reconstitution = _catalogue_reconstitution()
    specs = [_spec(f"{short}-RECON-ER", family, magnitude={"cap": 0.1}, reconstitution=reconstitution)
             for short, family in FAMILIES.items()]
    specs.append(_spec("LS-RECON-TR", "long_short", "tr", magnitude={"cap": 0.1}, reconstitution=reconstitution))
    specs.append(_spec("LO-EVERY-ER", "long_only", magnitude={"cap": 0.1},
                       reconstitution={"min_dollar_open_interest": 0.0}))
    collateral = collateral_returns(embedded_market.rates, embedded_series.get_column("date").unique().sort())
    return compute_momentum(specs, embedded_market, embedded_series, collateral)


def test_reconstituted_long_short_is_long_flat_plus_short_flat_in_every_period(embedded_recon_results):
    ls, lf, sf = (_period_returns(embedded_recon_results[f"{name}-RECON-ER"]) for name in ("LS", "LF", "SF"))
    assert ls.get_column("date").to_list() == lf.get_column("date").to_list() == sf.get_column("date").to_list()
    assert (ls["period_return"] - lf["period_return"] - sf["period_return"]).abs().max() <= 1e-12
    assert ls.height > 7000


def test_reconstituted_short_only_is_minus_long_only_in_every_period(embedded_recon_results):
    lo, so = (_period_returns(embedded_recon_results[f"{name}-RECON-ER"]) for name in ("LO", "SO"))
    assert (so["period_return"] + lo["period_return"]).abs().max() <= 1e-12


def test_embedded_universe_changes_only_in_december_and_some_roots_leave(embedded_recon_results, embedded_market):
    result = embedded_recon_results["LS-RECON-ER"]
    members = _members(result.weights)
    dates = list(members)
    changes = [date for date, previous in zip(dates[1:], dates) if members[date] != members[previous]]
    assert changes and all(date.month == 12 for date in changes)
    left = [date for date, previous in zip(dates[1:], dates) if set(members[previous]) - set(members[date])]
    assert left, "the threshold should make some root leave in some year"
    assert all(10 <= len(roots) < len(embedded_market.instruments) for roots in members.values())
    # every weighted root is a member of the latest choice, and the choice is the threshold's
    universe = result.tables["universe"]
    threshold = _catalogue_reconstitution()["min_dollar_open_interest"]
    chosen = universe.filter(pl.col("member"))
    assert (chosen.get_column("average_dollar_open_interest") >= threshold).all()
    assert universe.filter(~pl.col("member")).filter(pl.col("average_dollar_open_interest") >= threshold).height == 0
    for date, roots in members.items():
        latest = chosen.filter(pl.col("date") == chosen.filter(pl.col("date") <= date).get_column("date").max())
        assert roots == latest.get_column("root").sort().to_list(), date
    totals = result.weights.group_by("date").agg(pl.col("magnitude").sum(), pl.col("magnitude").max().alias("largest"))
    np.testing.assert_allclose(totals.get_column("magnitude").to_numpy(), 1.0, rtol=0, atol=1e-12)
    assert totals.get_column("largest").max() <= 0.1
    assert embedded_recon_results["LS-RECON-TR"].weights is result.weights


def test_reconstitution_that_keeps_every_root_gives_the_fixed_universe_levels_exactly(embedded_results,
                                                                                      embedded_recon_results):
    # on the embedded market every root starts on the same day, so with a zero threshold the
    # universe is every root at every choice, and the levels are those without reconstitution:
    # the catalogue's headline reconstitution leaves the embedded market's levels as they were
    fixed = embedded_results["LO-FIXED-ER"]
    assert embedded_recon_results["LO-EVERY-ER"].levels.equals(fixed.levels)
    assert embedded_recon_results["LO-EVERY-ER"].weights.equals(fixed.weights)
    assert embedded_results["LO-ER"].spec.reconstitution is not None
    assert embedded_results["LO-ER"].levels.equals(fixed.levels)
    assert embedded_results["LO-ER"].weights.equals(fixed.weights)
    assert embedded_results["LO-ER"].tables["universe"].get_column("member").all()


def test_catalogue_reconstituted_index_matches_the_same_spec_computed_alone(embedded_results, embedded_recon_results):
    # LS-RECON-ER of the catalogue, computed with every other momentum index, is the test's spec
    assert embedded_results["LS-RECON-ER"].levels.equals(embedded_recon_results["LS-RECON-ER"].levels)
    assert embedded_results["LS-RECON-ER"].tables["universe"].equals(
        embedded_recon_results["LS-RECON-ER"].tables["universe"])
