"""Benchmark: linked series (window roll) for every root of the embedded market, full history.

    python3 benchmarks/series_bench.py [--runs 7] [--roll window|data|first_notice]

Prints the median wall-clock and CPU seconds of ``build_series`` over several runs (the market
is loaded once, outside the timing). Target: well under a second for 23 roots x 1995-2026.
"""

from __future__ import annotations

import argparse
import statistics
import time

from indexcalc.data.embedded import load_default_market
from indexcalc.series import build_series
from indexcalc.specs.base import FirstNoticeRoll, WindowRoll


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--roll", choices=("window", "first_notice"), default="window")
    arguments = parser.parse_args()

    market = load_default_market()
    if arguments.roll == "window":
        rule, roots = WindowRoll(), None
    else:
        rule = FirstNoticeRoll()
        roots = [root for root, item in market.instruments.items() if item.first_notice_offset is not None]
    build_series(market, rule, roots)  # warm-up: imports, calendars

    wall, cpu = [], []
    for _ in range(arguments.runs):
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        series = build_series(market, rule, roots)
        wall.append(time.perf_counter() - wall_start)
        cpu.append(time.process_time() - cpu_start)
    print(
        f"build_series ({arguments.roll} roll): {series.get_column('root').n_unique()} roots, "
        f"{market.prices.height:,} price rows -> {series.height:,} series rows"
    )
    print(f"median wall {statistics.median(wall):.3f} s, median cpu {statistics.median(cpu):.3f} s "
          f"over {arguments.runs} runs (min wall {min(wall):.3f} s)")


if __name__ == "__main__":
    main()
