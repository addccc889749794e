"""Time the carry family on the embedded market: ``python3 benchmarks/carry_bench.py``.

Measures :func:`indexcalc.families.carry.compute.compute_carry_basket` for every carry spec of the
catalogue (the part of ``indexcalc rebuild`` the carry baskets add; the linked series are built
once beforehand, as the rebuild does), best of ``--repeat`` runs, and prints per basket the
realised volatility of daily returns (target 10%), the mean gross leverage and the headline
signal analytics. ``--pysystemtrade`` repeats it on ``../shared/data/pysystemtrade`` with a
steady 2.5% CPI standing in for the inflation those files lack.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl

from indexcalc.data.embedded import load_default_market
from indexcalc.data.market import MarketData
from indexcalc.families.carry.compute import compute_carry_basket
from indexcalc.rules.calendar import rebalance_dates
from indexcalc.families.carry.stages import carry_stages
from indexcalc.collateral import collateral_returns
from indexcalc.series import build_series
from indexcalc.specs import DataRoll
from indexcalc.catalogue import load_catalogue

PYSYSTEMTRADE_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "pysystemtrade"


def best_time(function, repeat: int) -> tuple[float, float, object]:
    """Best wall-clock and best process CPU seconds over ``repeat`` runs, and the last result.

    CPU time sums polars' threads but ignores time spent waiting for a shared machine's cores."""
    best_wall, best_cpu, result = math.inf, math.inf, None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = function()
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return best_wall, best_cpu, result


def report(label: str, market: MarketData, series: pl.DataFrame, collateral: pl.DataFrame, repeat: int) -> None:
    specs = [spec for spec in load_catalogue() if spec.kind == "carry_basket"]
    seconds, cpu_seconds, results = best_time(lambda: compute_carry_basket(specs, market, series, collateral), repeat)
    stage_seconds, _, _ = best_time(
        lambda: carry_stages(series, market.inflation, rebalance_dates(series.get_column("date")), specs[0]), repeat
    )
    print(f"\n{label}: {series.get_column('root').n_unique()} roots, {series.height} series rows")
    print(f"compute_carry_basket, {len(specs)} specs: {seconds:.3f} s wall, {cpu_seconds:.3f} s CPU (best of {repeat})")
    print(f"  of which the stages (once for all specs): {stage_seconds:.3f} s")
    print(f"{'index':24s} {'start':10s} {'vol':>6s} {'gross':>6s} {'pearson':>8s} {'p':>7s} {'kendall':>8s} "
          f"{'acc':>6s} {'bal_acc':>7s} {'yrs>50%':>7s}")
    for index_id, result in results.items():
        returns = result.levels.get_column("daily_return").slice(1)
        volatility = float(returns.std()) * math.sqrt(252)
        gross = result.weights.group_by("date").agg(pl.col("weight").abs().sum()).get_column("weight").mean()
        full = result.tables["analytics"].row(0, named=True)
        print(
            f"{index_id:24s} {result.levels.item(0, 'date')!s:10s} {volatility:6.2%} {gross:6.2f} "
            f"{full['pearson']:8.4f} {full['pearson_pvalue']:7.4f} {full['kendall']:8.4f} {full['accuracy']:6.2%} "
            f"{full['balanced_accuracy']:7.2%} {full['share_years_balanced_accuracy_above_half']:7.0%}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pysystemtrade", action="store_true")
    arguments = parser.parse_args()
    warnings.filterwarnings("ignore")

    market = load_default_market()
    series_seconds, _, series = best_time(lambda: build_series(market), 1)
    collateral = collateral_returns(market.rates, series.get_column("date").unique().sort())
    print(f"embedded market series (window roll): {series_seconds:.3f} s (not part of the carry figure)")
    report("embedded market", market, series, collateral, arguments.repeat)

    if arguments.pysystemtrade and PYSYSTEMTRADE_DIR.is_dir():
        from indexcalc.data.pysystemtrade import read_pysystemtrade

        releases = pl.date_range(dt.date(1970, 1, 15), dt.date(2023, 8, 15), "1mo", eager=True)
        cpi = pl.DataFrame({"date": releases, "cpi": 100.0 * 1.025 ** (np.arange(releases.len()) / 12.0)})
        real = replace(read_pysystemtrade(PYSYSTEMTRADE_DIR), inflation=cpi)
        real_series = build_series(real, DataRoll(), disruption="carry_forward")
        axis = real_series.get_column("date").unique().sort()
        collateral = pl.DataFrame({"date": axis, "collateral_return": 0.0})
        report("pysystemtrade (steady 2.5% CPI)", real, real_series, collateral, arguments.repeat)


if __name__ == "__main__":
    main()
