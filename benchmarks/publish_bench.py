"""Time the publisher on the embedded market: per factsheet (charts vs the rest, each kind of
chart, the contributions table), methodology, site page, and the whole ``publish_all`` into a
temporary folder.

    python3 benchmarks/publish_bench.py [--catalogue DIR] [--repeat N] [--workers 1 2]

The calculation (``rebuild_all``) is timed once for context; it is not the publisher's cost.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalogue", type=Path, default=None, help="catalogue folder (default: the project's)")
    parser.add_argument("--repeat", type=int, default=1, help="publish_all runs to time")
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2], help="rendering processes to compare")
    arguments = parser.parse_args()

    from indexcalc import analytics
    from indexcalc.data.embedded import load_default_market
    from indexcalc.pipeline import computable, rebuild_all
    from indexcalc.publish import charts, publication_inputs, publish_all
    from indexcalc.publish.factsheet import FactsheetInputs, long_only_reference, render_factsheet
    from indexcalc.publish.methodology import render_methodology
    from indexcalc.publish.site import render_site_index
    from indexcalc.catalogue import DEFAULT_CATALOGUE_DIR, load_catalogue

    market = load_default_market()
    specs, skipped = computable(load_catalogue(arguments.catalogue or DEFAULT_CATALOGUE_DIR), market)
    for index in skipped:
        print(f"skipped {index.index_id}: {index.reason}")
    started = time.perf_counter()
    results = rebuild_all(market, specs)
    print(f"rebuild_all: {len(results)} indexes in {time.perf_counter() - started:.2f} s (not publishing)")

    started = time.perf_counter()
    inputs = publication_inputs(results, market)
    print(f"publication inputs (series per roll rule, collateral): {time.perf_counter() - started:.2f} s")

    def timed(function, seconds: list[float]):
        def wrapper(*args, **kwargs):
            begin = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                seconds.append(time.perf_counter() - begin)
        return wrapper

    chart_seconds: list[float] = []
    chart_kinds = ("level_chart", "drawdown_chart", "monthly_heatmap", "correlation_heatmap")
    kind_seconds: dict[str, list[float]] = {kind: [] for kind in chart_kinds}
    contribution_seconds: list[float] = []
    originals = {name: getattr(charts, name) for name in ("_svg", *chart_kinds)}
    original_contribution = analytics.return_contribution
    charts._svg = timed(originals["_svg"], chart_seconds)
    for kind in chart_kinds:
        setattr(charts, kind, timed(originals[kind], kind_seconds[kind]))
    analytics.return_contribution = timed(original_contribution, contribution_seconds)
    factsheet_seconds, methodology_seconds = [], []
    for index_id, result in results.items():
        roll, root_levels = inputs.for_index(index_id)
        begin = time.perf_counter()
        render_factsheet(FactsheetInputs(result, market.instruments, long_only_reference(result.spec, results),
                                         root_levels, inputs.risk_free, roll))
        factsheet_seconds.append(time.perf_counter() - begin)
        begin = time.perf_counter()
        render_methodology(result.spec, market.instruments, roll)
        methodology_seconds.append(time.perf_counter() - begin)
    for name, function in originals.items():
        setattr(charts, name, function)
    analytics.return_contribution = original_contribution
    begin = time.perf_counter()
    render_site_index(results)
    site_seconds = time.perf_counter() - begin

    days = max(result.levels.height for result in results.values())
    mean_ms, max_ms = statistics.mean(factsheet_seconds) * 1000, max(factsheet_seconds) * 1000
    print(f"factsheet: mean {mean_ms:.0f} ms, max {max_ms:.0f} ms "
          f"per index (longest history {days} days); SVG serialisation share "
          f"{sum(chart_seconds) / sum(factsheet_seconds):.0%} ({len(chart_seconds)} charts)")
    print("charts (whole function, ms each): " + ", ".join(
        f"{kind} {statistics.mean(seconds) * 1000:.0f} x {len(seconds)}" for kind, seconds in kind_seconds.items() if seconds
    ))
    print(f"return_contribution (12-month window): {sum(contribution_seconds):.2f} s for {len(contribution_seconds)} "
          f"factsheets")
    print(f"methodology: mean {statistics.mean(methodology_seconds) * 1000:.1f} ms; "
          f"site page {site_seconds * 1000:.1f} ms")

    for _ in range(arguments.repeat):
        for workers in arguments.workers:
            with tempfile.TemporaryDirectory() as folder:
                begin = time.perf_counter()
                publish_all(results, market, Path(folder) / "outputs", workers=workers)
                total = time.perf_counter() - begin
                size = sum(path.stat().st_size for path in (Path(folder) / "outputs").rglob("*") if path.is_file())
            print(f"publish_all, {workers} worker(s): {total:.2f} s for {len(results)} indexes "
                  f"({total / len(results) * 1000:.0f} ms each), {size / 1e6:.1f} MB written")


if __name__ == "__main__":
    main()
