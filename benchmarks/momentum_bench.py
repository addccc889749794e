"""Time ``compute_momentum`` over the whole momentum catalogue on the embedded market.

    python3 benchmarks/momentum_bench.py [--repeat N]

The market load and the linked series (window roll) are built once, outside the timing, as the
pipeline does; the figure is the family's own share of a rebuild (all families, ER and TR, 23
roots, 1995 to date). Wall time and the process CPU time (all threads) are printed: best and
median of ``N`` runs, since the machine is shared.
"""

from __future__ import annotations

import argparse
import statistics
import time

from indexcalc.data.embedded import load_default_market
from indexcalc.families.momentum.compute import compute_momentum
from indexcalc.collateral import collateral_returns
from indexcalc.series import build_series
from indexcalc.catalogue import load_catalogue


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    arguments = parser.parse_args()

    market = load_default_market()
    series = build_series(market)
    collateral = collateral_returns(market.rates, series.get_column("date").unique().sort())
    specs = [spec for spec in load_catalogue() if spec.kind == "momentum"]

    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(arguments.repeat):
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        results = compute_momentum(specs, market, series, collateral)
        wall.append(time.perf_counter() - wall_start)
        cpu.append(time.process_time() - cpu_start)

    first, last = min(r.levels.item(0, "date") for r in results.values()), max(r.levels.item(-1, "date") for r in results.values())
    print(f"compute_momentum: {len(specs)} indexes, {len(market.roots)} roots, {first} to {last}")
    print(f"  wall: best {min(wall) * 1000:.0f} ms, median {statistics.median(wall) * 1000:.0f} ms")
    print(f"  cpu:  best {min(cpu) * 1000:.0f} ms, median {statistics.median(cpu) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
