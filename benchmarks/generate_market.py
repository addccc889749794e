"""Benchmark: generating the embedded SYNTHETIC market (23 roots, 1995-01-01 to 2026-10-31).

    python3 benchmarks/generate_market.py [--runs 3] [--extra-roots 0] [--seed 1995]

Prints the cold first run (includes building the exchange calendars, cached afterwards), the
median wall-clock and CPU seconds of the warm runs, the rows generated, and the time to write
the Parquet files. Target: the whole market in well under 30 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from indexcalc.data.embedded import MarketGeneratorSpec, generate_market, write_market


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--extra-roots", type=int, default=0)
    parser.add_argument("--seed", type=int, default=MarketGeneratorSpec().seed)
    arguments = parser.parse_args()
    spec = MarketGeneratorSpec(seed=arguments.seed, extra_roots=arguments.extra_roots)

    cold_start = time.perf_counter()
    market = generate_market(spec)
    cold = time.perf_counter() - cold_start

    wall, cpu = [], []
    for _ in range(arguments.runs):
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        market = generate_market(spec)
        wall.append(time.perf_counter() - wall_start)
        cpu.append(time.process_time() - cpu_start)

    with tempfile.TemporaryDirectory() as directory:
        write_start = time.perf_counter()
        write_market(market, Path(directory) / "market", seed=spec.seed)
        written = time.perf_counter() - write_start
        size = sum(path.stat().st_size for path in (Path(directory) / "market").iterdir())

    print(
        f"generate_market: {len(market.roots)} roots, {market.prices.height:,} price rows, "
        f"{spec.start} to {spec.end}\n"
        f"  cold (with calendars): {cold:.2f} s\n"
        f"  warm median of {arguments.runs}: {statistics.median(wall):.2f} s wall, {statistics.median(cpu):.2f} s CPU\n"
        f"  write_market: {written:.2f} s, {size / 1e6:.1f} MB"
    )


if __name__ == "__main__":
    main()
