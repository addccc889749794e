"""The Long/Short momentum family end to end (indexcalc.families.momentum, DESIGN.md section 3).

Synthetic tests build the linked series directly (a random walk per root, one contract per day
whose settle is the level and whose open interest is given), so every expectation is computed
here independently from those frames.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from indexcalc.data.instruments import load_instruments
from indexcalc.data.market import MarketData
from indexcalc.errors import SpecError
from indexcalc.families.momentum import WEIGHTS_COLUMNS, compute_momentum
from indexcalc.specs.momentum import MomentumIndexSpec

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
    from indexcalc.series import collateral_returns
    from indexcalc.specs import load_catalogue

    specs = [spec for spec in load_catalogue() if spec.kind == "momentum"]
    specs.append(_spec("SF-ENERGY-ER", "short_flat", sectors=["energy"], magnitude={"cap": 0.35}))
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
    from indexcalc.families.momentum import missing_inputs

    _, market, _ = synthetic
    energy = _spec("LS-ENERGY-ER", "long_short", sectors=["energy"], magnitude={"cap": 0.35})
    assert missing_inputs(energy, market) == "magnitude cap 0.35 cannot hold over its 2 roots in this market (CL, NG)"
    assert missing_inputs(_spec("LS-ER", "long_short"), market) is None
    without_oi = MarketData(prices=market.prices.with_columns(pl.lit(None, pl.Float64).alias("open_interest")),
                            instruments=market.instruments)
    assert "no open interest in the market data" in missing_inputs(_spec("LS-ER", "long_short"), without_oi)
    fixed = _spec("LO-FIXED", "long_only", magnitude={"source": "fixed", "cap": CAP, "fixed_weights": dict.fromkeys(ROOTS, 1.0)})
    assert missing_inputs(fixed, without_oi) is None
