"""Time the base-metals baskets on the embedded market: ``python3 benchmarks/basemetals_bench.py``.

Measures :func:`indexcalc.families.basemetals.compute.compute_base_metals` for every base-metals spec of
the catalogue (the part of ``indexcalc rebuild`` the baskets add; the linked series are built
once beforehand, as the rebuild does), best of ``--repeat`` runs, then each spec alone. Prints
per basket the start, the annualised return and volatility, the number of rebalances by reason,
the latest average correlation and the stress P&L.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import polars as pl

from indexcalc.data.embedded import load_default_market
from indexcalc.families.basemetals import compute as basemetals
from indexcalc.collateral import collateral_returns
from indexcalc.series import build_series
from indexcalc.catalogue import load_catalogue


def best_time(function, repeat: int) -> tuple[float, object]:
    best, result = math.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    arguments = parser.parse_args()

    market = load_default_market()
    series = build_series(market)
    collateral = collateral_returns(market.rates, series.get_column("date").unique().sort())
    specs = [spec for spec in load_catalogue() if spec.kind == "base_metals"]
    repeat = arguments.repeat

    seconds, results = best_time(lambda: basemetals.compute_base_metals(specs, market, series, collateral), repeat)
    print(f"compute_base_metals, {len(specs)} specs: {seconds:.3f} s (best of {repeat})")
    for spec in specs:
        alone, _ = best_time(lambda: basemetals.compute_base_metals([spec], market, series, collateral), repeat)
        print(f"  {spec.id:18s} alone {alone:.3f} s")

    print(f"\n{'index':18s} {'start':10s} {'return':>7s} {'vol':>6s} {'monthly':>7s} {'reopt':>6s} {'drift':>6s} "
          f"{'avg corr':>8s} {'covid':>7s} {'nickel':>7s} {'china':>7s}")
    for index_id, result in results.items():
        levels = result.levels
        returns = levels.get_column("daily_return").slice(1)
        years = (levels.get_column("date")[-1] - levels.get_column("date")[0]).days / 365.25
        annual = (levels.get_column("level")[-1] / levels.get_column("level")[0]) ** (1 / years) - 1
        reasons = dict(result.weights.group_by("reason").agg(pl.col("date").n_unique()).iter_rows())
        stress = dict(zip(result.tables["stress"].get_column("scenario"), result.tables["stress"].get_column("pnl")))
        correlation = result.tables["correlation_monitor"].get_column("average_correlation")[-1]
        print(
            f"{index_id:18s} {levels.item(0, 'date')!s:10s} {annual:7.2%} {float(returns.std()) * np.sqrt(252):6.2%} "
            f"{reasons.get('monthly', 0):7d} {reasons.get('reoptimise', 0):6d} {reasons.get('drift', 0):6d} "
            f"{correlation:8.3f} {stress['covid-crash']:7.2%} {stress['nickel-squeeze']:7.2%} "
            f"{stress['china-slowdown']:7.2%}"
        )


if __name__ == "__main__":
    main()
