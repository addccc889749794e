"""indexcalc side by side with its peers on the same inputs.

    python3 benchmarks/peers.py [--repeat 5] [--market DIR] [--json PATH]

1. **macrosynergy** (the field's reference for carry signals), on the same carry panel: the
   month-end volatility-adjusted real carry of every root (stage 4 of
   :func:`indexcalc.families.carry.stages.carry_stages`, spec defaults; computed once, outside the timing).

   - macrosynergy: ``make_zn_scores(neutral="zero", sequential=True, thresh=2, pan_weight=1,
     est_freq="M", min_obs=12, iis=False)`` -> ``make_relative_value(rel_meth="subtract")`` ->
     the relative signal put on the daily dates -> ``NaivePnL(...).make_pnl(sig_op="raw",
     rebal_freq="monthly", rebal_slip=1, vol_scale=10)``;
   - indexcalc: :func:`indexcalc.families.carry.stages.carry_zscores` (sequential z-scores) ->
     :func:`indexcalc.families.carry.relative.relative_value` -> the basket level stage of
     :mod:`indexcalc.families.carry.compute` (proportional global basket: the universe's return matrix,
     inverse-volatility positions scaled to the 10% volatility target, composite levels).

   Both sides get their inputs in their own format, built before the timing (a pandas
   quantamental frame of the panel and of the daily returns in percent; the polars panel and
   series). The z-scores and relative values of the two are compared (they agree to ~1e-15).
2. **plain pandas** Long/Short family (``benchmarks/pandas_longshort.py``) against
   :func:`indexcalc.families.momentum.compute.compute_momentum` for the five whole-universe ER indexes
   (LS, LF, SF, LO, SO) on the same linked series and prices; levels compared.

Each figure is the median over ``--repeat`` runs after one warm-up run, wall-clock and process
CPU seconds (CPU sums every thread of the process), and the fastest wall time. The ratios are
peer / indexcalc: on the median wall time, the median CPU time and the fastest wall time (the
least disturbed by a shared machine).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))

ZN_OPTIONS = {"neutral": "zero", "sequential": True, "thresh": 2.0, "pan_weight": 1.0, "est_freq": "M",
              "min_obs": 12, "iis": False}
"""The macrosynergy scoring options; indexcalc's spec defaults are the same numbers."""

VOL_TARGET_PERCENT = 10.0


def timed(function: Callable[[], object], repeat: int) -> dict:
    """Median wall and CPU seconds over ``repeat`` runs after a warm-up run; the last result."""
    result = function()
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = function()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return {"wall": statistics.median(walls), "wall_min": min(walls), "cpu": statistics.median(cpus), "runs": repeat,
            "result": result}


# --- carry: macrosynergy -------------------------------------------------------------------------


def macrosynergy_inputs(panel: pl.DataFrame, series: pl.DataFrame):
    """Quantamental frames: the month-end panel stamped at business month-ends (so est_freq="M"
    re-estimates at every panel date) and the daily returns in percent."""
    import pandas as pd

    frame = panel.select("date", "root", "vol_adjusted_carry").drop_nulls().to_pandas()
    stamped = pd.to_datetime(frame["date"]).dt.to_period("M").dt.start_time + pd.offsets.BMonthEnd(0)
    carry = pd.DataFrame({"cid": frame["root"], "xcat": "CARRY", "real_date": stamped,
                          "value": frame["vol_adjusted_carry"]})
    daily = series.select("date", "root", "daily_return").to_pandas()
    returns = pd.DataFrame({"cid": daily["root"], "xcat": "XR", "real_date": pd.to_datetime(daily["date"]),
                            "value": 100.0 * daily["daily_return"]})
    return carry, returns


def macrosynergy_pipeline(carry, returns) -> dict:
    """z-scores -> relative values -> daily signal -> naive PnL (module docstring)."""
    import pandas as pd
    from macrosynergy.panel import make_relative_value, make_zn_scores
    from macrosynergy.pnl import NaivePnL

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = make_zn_scores(carry, xcat="CARRY", **ZN_OPTIONS)
        relative = make_relative_value(scores, xcats=["CARRYZN"], rel_meth="subtract")
        # the month-end signal on every daily date of its root (the PnL rebalances monthly)
        signal_wide = relative.pivot(index="real_date", columns="cid", values="value")
        return_dates = pd.DatetimeIndex(returns["real_date"].unique()).sort_values()
        daily_signal = (
            signal_wide.reindex(signal_wide.index.union(return_dates)).ffill().reindex(return_dates)
            .rename_axis(index="real_date", columns="cid").stack().rename("value").reset_index()
            .assign(xcat="CARRYZNR")
        )
        frame = pd.concat([returns, daily_signal[["cid", "xcat", "real_date", "value"]]], ignore_index=True)
        pnl = NaivePnL(frame, ret="XR", sigs=["CARRYZNR"])
        pnl.make_pnl("CARRYZNR", sig_op="raw", rebal_freq="monthly", rebal_slip=1, vol_scale=VOL_TARGET_PERCENT,
                     pnl_name="PNL")
        levels = pnl.pnl_df(["PNL"])
    return {"scores": scores, "relative": relative, "pnl": levels}


# --- carry: indexcalc ----------------------------------------------------------------------------


def indexcalc_pipeline(panel: pl.DataFrame, series: pl.DataFrame, axis: pl.Series, spec) -> dict:
    """The same stages in indexcalc: z-scores, relative values, proportional global basket levels."""
    from indexcalc.families.carry.compute import Universe, basket_excess_levels, basket_signals, risk_scaled_weights
    from indexcalc.rules.calendar import rebalance_schedule
    from indexcalc.families.carry.stages import carry_zscores
    from indexcalc.families.carry.relative import relative_value

    scores = carry_zscores(panel, spec)
    relative = relative_value(scores, value="zscore")
    stages = (
        panel.select("date", "root", "volatility")
        .join(scores, on=["date", "root"], how="inner")
        .join(relative.rename({"relative": "relative_global"}), on=["date", "root"], how="left")
        .with_columns(pl.lit("all").alias("group"))
    )
    universe = Universe.from_series(series.select("date", "root", "level"), axis)
    schedule = rebalance_schedule(axis, spec.implementation_lag)
    weights = risk_scaled_weights(basket_signals(stages, spec), universe, schedule, spec)
    levels = basket_excess_levels(weights, universe, spec.base_value)
    return {"scores": scores, "relative": relative, "levels": levels}


def compare_carry(mine: dict, theirs: dict) -> dict:
    """Largest absolute differences of the z-scores and relative values (matched by month, root)."""
    def keyed(frame, value: str) -> pl.DataFrame:
        return pl.DataFrame({
            "month": pl.Series(frame["real_date"].dt.to_period("M").dt.start_time.to_numpy()).cast(pl.Date),
            "root": frame["cid"].astype(str).to_numpy(),
            value: frame["value"].to_numpy(),
        })

    month = pl.col("date").dt.truncate("1mo").alias("month")
    scores = mine["scores"].select(month, "root", "zscore").join(keyed(theirs["scores"], "peer"), on=["month", "root"])
    relative = mine["relative"].select(month, "root", "relative").join(
        keyed(theirs["relative"], "peer"), on=["month", "root"]
    )
    return {
        "zscore_rows": [mine["scores"].height, len(theirs["scores"])],
        "zscore_max_abs_difference": float((scores["zscore"] - scores["peer"]).abs().max()),
        "relative_rows": [mine["relative"].height, len(theirs["relative"])],
        "relative_max_abs_difference": float((relative["relative"] - relative["peer"]).abs().max()),
    }


# --- Long/Short: plain pandas --------------------------------------------------------------------


FAMILY_IDS = {"long_short": "LS-ER", "long_flat": "LF-ER", "short_flat": "SF-ER", "long_only": "LO-ER",
              "short_only": "SO-ER"}


def longshort_side_by_side(market, series, collateral, repeat: int) -> dict:
    import pandas_longshort
    from indexcalc.families.momentum.compute import compute_momentum
    from indexcalc.catalogue import load_catalogue

    specs = [spec for spec in load_catalogue() if spec.id in FAMILY_IDS.values()]
    roots = sorted(series.get_column("root").unique().to_list())
    mine = timed(lambda: compute_momentum(specs, market, series, collateral), repeat)
    levels = series.select("date", "root", "level").to_pandas()
    prices = market.prices.select("date", "root", "settle", "open_interest").to_pandas()
    multipliers = {root: instrument.multiplier for root, instrument in market.instruments.items()}
    sectors = {root: instrument.sector for root, instrument in market.instruments.items()}
    theirs = timed(lambda: pandas_longshort.long_short_levels(levels, prices, multipliers, sectors, roots), repeat)
    worst = 0.0
    for family, index_id in FAMILY_IDS.items():
        peer_levels = theirs["result"][family]["level"].to_numpy()
        worst = max(worst, float(abs(mine["result"][index_id].levels.get_column("level").to_numpy() / peer_levels - 1).max()))
    return {
        "indexcalc": {key: mine[key] for key in ("wall", "wall_min", "cpu", "runs")},
        "pandas": {key: theirs[key] for key in ("wall", "wall_min", "cpu", "runs")},
        "ratio": theirs["wall"] / mine["wall"],
        "ratio_cpu": theirs["cpu"] / mine["cpu"],
        "ratio_min": theirs["wall_min"] / mine["wall_min"],
        "levels_max_relative_difference": worst,
    }


def carry_side_by_side(market, series, repeat: int) -> dict:
    from indexcalc.rules.calendar import rebalance_dates
    from indexcalc.families.carry.stages import carry_stages
    from indexcalc.families.carry.spec import CarryBasketSpec

    spec = CarryBasketSpec(id="PEER", name="peer", construction="proportional", relative_scope="global")
    axis = series.get_column("date").unique().sort()
    panel = carry_stages(series, market.inflation, rebalance_dates(axis), spec)
    carry, returns = macrosynergy_inputs(panel, series)
    mine = timed(lambda: indexcalc_pipeline(panel, series, axis, spec), repeat)
    theirs = timed(lambda: macrosynergy_pipeline(carry, returns), repeat)
    return {
        "panel_rows": panel.drop_nulls("vol_adjusted_carry").height,
        "daily_rows": series.height,
        "indexcalc": {key: mine[key] for key in ("wall", "wall_min", "cpu", "runs")},
        "macrosynergy": {key: theirs[key] for key in ("wall", "wall_min", "cpu", "runs")},
        "ratio": theirs["wall"] / mine["wall"],
        "ratio_cpu": theirs["cpu"] / mine["cpu"],
        "ratio_min": theirs["wall_min"] / mine["wall_min"],
        **compare_carry(mine["result"], theirs["result"]),
    }


def run_peers(market_dir: Path | None, repeat: int) -> dict:
    """Both side-by-sides on one market (the embedded one by default)."""
    from indexcalc.data.embedded import DEFAULT_MARKET_DIR, load_default_market
    from indexcalc.collateral import collateral_returns
    from indexcalc.series import build_series

    market = load_default_market(market_dir or DEFAULT_MARKET_DIR)
    series = build_series(market)
    collateral = collateral_returns(market.rates, series.get_column("date").unique().sort())
    return {
        "market": market.source,
        "roots": len(market.roots),
        "carry_vs_macrosynergy": carry_side_by_side(market, series, repeat),
        "longshort_vs_pandas": longshort_side_by_side(market, series, collateral, repeat),
    }


def print_peers(figures: dict) -> None:
    carry, longshort = figures["carry_vs_macrosynergy"], figures["longshort_vs_pandas"]
    print(f"market: {figures['market']} ({figures['roots']} roots)")
    print(f"{'side by side':44s} {'wall s':>8s} {'cpu s':>8s} {'ratio':>7s}")
    print(f"{'carry: macrosynergy zn+rv+NaivePnL':44s} {carry['macrosynergy']['wall']:8.3f} "
          f"{carry['macrosynergy']['cpu']:8.3f} {carry['ratio']:6.1f}x")
    print(f"{'carry: indexcalc zn+rv+basket levels':44s} {carry['indexcalc']['wall']:8.3f} {carry['indexcalc']['cpu']:8.3f}")
    print(f"{'Long/Short x5 ER: plain pandas':44s} {longshort['pandas']['wall']:8.3f} {longshort['pandas']['cpu']:8.3f} "
          f"{longshort['ratio']:6.1f}x")
    print(f"{'Long/Short x5 ER: indexcalc compute_momentum':44s} {longshort['indexcalc']['wall']:8.3f} "
          f"{longshort['indexcalc']['cpu']:8.3f}")
    print(f"carry panel {carry['panel_rows']} month-end rows, {carry['daily_rows']} daily rows; "
          f"z-scores {carry['zscore_rows'][0]}/{carry['zscore_rows'][1]} rows, max |diff| "
          f"{carry['zscore_max_abs_difference']:.2e}; relative values {carry['relative_rows'][0]}/"
          f"{carry['relative_rows'][1]} rows, max |diff| {carry['relative_max_abs_difference']:.2e}")
    print(f"Long/Short levels vs pandas: max relative difference {longshort['levels_max_relative_difference']:.2e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--market", type=Path, default=None, help="a market folder written by write_market")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    arguments = parser.parse_args()
    figures = run_peers(arguments.market, arguments.repeat)
    print_peers(figures)
    if arguments.json:
        arguments.json.write_text(json.dumps(figures, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
