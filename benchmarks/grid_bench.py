"""Catalogue-grid benchmarks: 1,000 momentum variants in one process, and the same grid on Ray.

The grid is ``examples/grid-sweep/momentum_sweep.toml`` (5 families x 10 moving-average windows
x 5 caps x 4 ranks = 1,000 variants of the Long/Short rules; its base index is left out). Run by
``benchmarks/run.py`` (rows ``grid_1000``, ``grid_1000_200x30``, ``ray_grid``), or alone:

    python3 benchmarks/grid_bench.py [--profile] [--market DIR]

which times one in-process calculation and, with ``--profile``, prints where the time goes
(cProfile, cumulative, the indexcalc functions first).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
SWEEP = PROJECT / "examples" / "grid-sweep"


def sweep_specs(market):
    """The sweep's 1,000 variants the market can compute (the base index left out)."""
    from indexcalc.pipeline import computable
    from indexcalc.catalogue import read_catalogue

    specs, grid_of = read_catalogue(SWEEP)
    specs, skipped = computable([spec for spec in specs if spec.id in grid_of], market)
    return specs, skipped


def _market(market_dir: Path | None):
    from indexcalc.data.embedded import DEFAULT_MARKET_DIR, load_default_market

    return load_default_market(market_dir or DEFAULT_MARKET_DIR)


def bench_grid(repeat: int, measure, market_dir: Path | None = None) -> dict:
    """``rebuild_all`` of the sweep in this process (the in-process executor)."""
    from indexcalc.pipeline import rebuild_all

    market = _market(market_dir)
    specs, skipped = sweep_specs(market)
    figures = measure(lambda: rebuild_all(market, specs), repeat)
    return figures | {"indexes": len(specs), "skipped": [f"{item.index_id}: {item.reason}" for item in skipped],
                      "roots": len(market.roots), "price_rows": market.prices.height,
                      "first_date": str(market.prices.get_column("date").min()),
                      "last_date": str(market.prices.get_column("date").max())}


def _same(left: dict, right: dict) -> bool:
    return list(left) == list(right) and all(
        result.levels.equals(right[index_id].levels) and result.weights.equals(right[index_id].weights)
        for index_id, result in left.items()
    )


def _ray_processes_mib() -> float | None:
    """Resident memory of this process's descendants (the local Ray instance), now."""
    try:
        import psutil
    except ImportError:
        return None
    children = psutil.Process().children(recursive=True)
    return sum(child.memory_info().rss for child in children if child.is_running()) / 2**20


def bench_ray_grid(repeat: int, measure) -> dict:
    """The sweep on a local Ray instance with 2 workers against the in-process executor: wall
    times (Ray's worker CPU is not the benchmark process's), results compared to the bit."""
    try:
        from indexcalc.executors import RayExecutor
    except ImportError as error:
        return {"unavailable": f"no indexcalc.executors ({error})"}
    import importlib.util

    if importlib.util.find_spec("ray") is None:
        return {"unavailable": "ray is not installed (pip install -e '.[distributed]')"}
    from indexcalc.pipeline import calculate

    market = _market(None)
    specs, _ = sweep_specs(market)
    outcome: dict = {}
    in_process = measure(lambda: outcome.__setitem__("in_process", calculate(market, specs).results), repeat)
    started = time.perf_counter()
    with RayExecutor(workers=2) as executor:
        start_seconds = time.perf_counter() - started
        figures = measure(lambda: outcome.__setitem__("ray", calculate(market, specs, executor=executor).results),
                          repeat)
        ray_mib = _ray_processes_mib()
    return figures | {
        "indexes": len(specs), "workers": 2, "ray_start_seconds": start_seconds,
        "in_process_wall": in_process["wall"], "in_process_cpu": in_process["cpu"],
        "in_process_wall_min": in_process["wall_min"], "ray_processes_rss_mib": ray_mib,
        "identical": _same(outcome["in_process"], outcome["ray"]),
    }


def profile(market_dir: Path | None) -> str:
    """Where one in-process calculation of the sweep spends its time (cProfile text)."""
    from indexcalc.pipeline import rebuild_all

    market = _market(market_dir)
    specs, _ = sweep_specs(market)
    rebuild_all(market, specs[:2])  # first-use caches out of the profile
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    rebuild_all(market, specs)
    profiler.disable()
    wall = time.perf_counter() - started
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text).sort_stats("cumulative")
    stats.print_stats("indexcalc", 30)
    return f"{len(specs)} indexes, {wall:.1f} s under the profiler\n" + text.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one calculation")
    parser.add_argument("--market", type=Path, default=None, help="market folder (default: the embedded one)")
    arguments = parser.parse_args()
    if arguments.profile:
        print(profile(arguments.market))
        return
    from indexcalc.pipeline import rebuild_all

    market = _market(arguments.market)
    specs, skipped = sweep_specs(market)
    started, cpu = time.perf_counter(), time.process_time()
    rebuild_all(market, specs)
    print(f"{len(specs)} indexes ({len(skipped)} skipped) on {len(market.roots)} roots: "
          f"{time.perf_counter() - started:.1f} s wall, {time.process_time() - cpu:.1f} s CPU")


if __name__ == "__main__":
    main()
