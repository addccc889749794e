"""Benchmark: the copper macro-factor strategy (CU-MACRO-ER and -TR) on the embedded market.

    python3 benchmarks/copper_bench.py [--runs 7]

Prints the median wall-clock and CPU seconds of each stage over several runs (the market is
loaded once, outside the timing): the curve (roll engine, M1/M2/M3, prices), the strategy inputs
(factors, rolling OLS, ATR, carry, regime filters), the day-by-day trade simulation (the only
loop over days: target well under 0.2 s for ~8,000 days) and ``compute_copper_macro`` for both
catalogue specs end to end.
"""

from __future__ import annotations

import argparse
import statistics
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

import polars as pl

from indexcalc.data.embedded import load_default_market
from indexcalc.families.copper.compute import compute_copper_macro, copper_curve, simulate, strategy_inputs
from indexcalc.collateral import collateral_returns
from indexcalc.catalogue import parse_spec

CATALOGUE = Path(__file__).resolve().parents[1] / "data" / "catalogue" / "copper.toml"


def timed(action: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median wall-clock and CPU seconds of ``action`` over ``runs`` calls."""
    wall, cpu = [], []
    for _ in range(runs):
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        action()
        wall.append(time.perf_counter() - wall_start)
        cpu.append(time.process_time() - cpu_start)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    arguments = parser.parse_args()

    market = load_default_market()
    specs = [parse_spec(table) for table in tomllib.loads(CATALOGUE.read_text())["index"]]
    spec = specs[0]
    instrument = market.instruments[spec.root]
    collateral = collateral_returns(market.rates, market.prices.get_column("date").unique().sort())
    compute_copper_macro(specs, market, pl.DataFrame(), collateral)  # warm-up: imports, calendars

    curve = copper_curve(market, spec.root, spec.roll)
    inputs = strategy_inputs(spec, market, curve)
    stages = {
        "curve": lambda: copper_curve(market, spec.root, spec.roll),
        "inputs": lambda: strategy_inputs(spec, market, curve),
        "simulation": lambda: simulate(spec, inputs, instrument.multiplier),
        "compute_copper_macro (ER + TR)": lambda: compute_copper_macro(specs, market, pl.DataFrame(), collateral),
    }
    print(f"{spec.root}: {curve.height} business days, {curve.get_column('date')[0]} .. {curve.get_column('date')[-1]}")
    for name, action in stages.items():
        wall, cpu = timed(action, arguments.runs)
        print(f"{name:32s} median wall {wall:.3f} s, cpu {cpu:.3f} s ({arguments.runs} runs)")
    trades = simulate(spec, inputs, instrument.multiplier).trades
    print(f"trades: {trades.height}")


if __name__ == "__main__":
    main()
