"""Time one daily run (``indexcalc.operations.run_daily``) on the embedded market.

    python3 benchmarks/daily_bench.py [--days N] [--publish] [--catalogue DIR]

Sets up a ledger holding the rebuild of the data up to the (N+1)-th last business day (in a
temporary folder), then runs the last N business days one at a time, ledger only, and prints
the median time of a run with its parts: the calculation (``rebuild_all`` on the data up to the
day, timed separately), the input hash, and the rest (calendar, required data, ledger read,
comparison, append). With ``--publish`` the last day is run with the full publication too
(levels, weights, tables, factsheets), timed apart. Target: a daily run under 1 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=5, help="daily runs to time")
    parser.add_argument("--publish", action="store_true", help="also time one run that republishes every file")
    parser.add_argument("--catalogue", type=Path, default=None, help="catalogue folder (default: the project's)")
    arguments = parser.parse_args()

    from indexcalc.data.embedded import load_default_market
    from indexcalc.ledger import input_hash
    from indexcalc.operations import RunStamp, calendar_days, index_calendar, rebuild, run_daily
    from indexcalc.pipeline import computable, rebuild_all
    from indexcalc.publish import default_workers
    from indexcalc.specs import DEFAULT_CATALOGUE_DIR, load_catalogue

    market = load_default_market()
    specs, skipped = computable(load_catalogue(arguments.catalogue or DEFAULT_CATALOGUE_DIR), market)
    for index in skipped:
        print(f"skipped {index.index_id}: {index.reason}")
    last = market.prices.get_column("date").max()
    days = calendar_days(index_calendar(market, specs, last - dt.timedelta(days=60), last))
    published_through, run_days = days[-arguments.days - 1], days[-arguments.days:]
    clock = dt.datetime(2026, 11, 23, 18, 0, tzinfo=dt.timezone.utc)

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "outputs"
        started = time.perf_counter()
        rebuild(market.up_to(published_through), specs, out, RunStamp(clock, "initial"), publish=False)
        print(f"initial ledger (rebuild up to {published_through}, {len(specs)} indexes): "
              f"{time.perf_counter() - started:.2f} s")

        totals, calculations, hashes = [], [], []
        for number, day in enumerate(run_days, start=1):
            begin = time.perf_counter()
            run_daily(market, specs, day, out, RunStamp(clock + dt.timedelta(minutes=number), f"bench{number}"),
                      publish=False)
            totals.append(time.perf_counter() - begin)
            begin = time.perf_counter()
            rebuild_all(market.up_to(day), specs)
            calculations.append(time.perf_counter() - begin)
            begin = time.perf_counter()
            input_hash(market.up_to(day))
            hashes.append(time.perf_counter() - begin)
            print(f"  {day}: run {totals[-1]:.2f} s (calculation {calculations[-1]:.2f} s, "
                  f"input hash {hashes[-1]:.2f} s)")
        median = statistics.median(totals)
        print(f"daily run (ledger only), median of {len(totals)}: {median:.2f} s; calculation "
              f"{statistics.median(calculations):.2f} s, input hash {statistics.median(hashes):.2f} s, rest "
              f"{median - statistics.median(calculations) - statistics.median(hashes):.2f} s "
              f"(target < 1 s: {'met' if median < 1.0 else 'NOT met'})")

        if arguments.publish:
            begin = time.perf_counter()
            run_daily(market, specs, run_days[-1], out, RunStamp(clock + dt.timedelta(hours=1), "publish"),
                      workers=default_workers(len(specs)))
            print(f"same day again with the full publication (nothing appended): {time.perf_counter() - begin:.2f} s")


if __name__ == "__main__":
    main()
