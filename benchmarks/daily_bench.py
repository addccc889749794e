"""Time daily runs (``indexcalc.operations.run_daily``) on the embedded market.

    python3 benchmarks/daily_bench.py [--days N] [--publish] [--catalogue DIR]

Sets up a ledger holding the rebuild of the data up to the (N+1)-th last business day (in a
temporary folder), then runs the last N business days one at a time, ledger only, and prints
each run's time and whether the stored state continued it or it was calculated in full, then
the median of each kind. A continued day is what a day inside a month costs; a full day (the
first business day of a month, a drift trigger, or no usable state) costs one full-history
calculation (``rebuild_all``, timed apart on the same data) plus the checks. The first business
day of the last month is run as well, on a ledger published through the day before it, to show
a full day. With ``--publish`` the last day is run again with the full publication (levels,
weights, tables, factsheets), timed apart. Target: a daily run under 1 s.
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
    from indexcalc.catalogue import DEFAULT_CATALOGUE_DIR, load_catalogue

    market = load_default_market()
    specs, skipped = computable(load_catalogue(arguments.catalogue or DEFAULT_CATALOGUE_DIR), market)
    for index in skipped:
        print(f"skipped {index.index_id}: {index.reason}")
    last = market.prices.get_column("date").max()
    days = calendar_days(index_calendar(market, specs, last - dt.timedelta(days=75), last))
    published_through, run_days = days[-arguments.days - 1], days[-arguments.days:]
    clock = dt.datetime(2026, 11, 23, 18, 0, tzinfo=dt.timezone.utc)

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "outputs"
        started = time.perf_counter()
        rebuild(market.up_to(published_through), specs, out, RunStamp(clock, "initial"), publish=False)
        print(f"initial ledger (rebuild up to {published_through}, {len(specs)} indexes): "
              f"{time.perf_counter() - started:.2f} s")

        continued, full = [], []
        for number, day in enumerate(run_days, start=1):
            begin = time.perf_counter()
            outcome = run_daily(market, specs, day, out, RunStamp(clock + dt.timedelta(minutes=number), f"bench{number}"),
                                publish=False)
            seconds = time.perf_counter() - begin
            (full if outcome.full_days else continued).append(seconds)
            print(f"  {day}: run {seconds:.2f} s ({'full calculation' if outcome.full_days else 'continued from state'})")

        month_start = next(day for day in days if day.month == last.month)
        before = days[days.index(month_start) - 1]
        month_out = Path(folder) / "month-start"
        rebuild(market.up_to(before), specs, month_out, RunStamp(clock, "initial"), publish=False)
        begin = time.perf_counter()
        outcome = run_daily(market, specs, month_start, month_out, RunStamp(clock + dt.timedelta(hours=2), "month"),
                            publish=False)
        full.append(time.perf_counter() - begin)
        assert outcome.full_days == [month_start]
        begin = time.perf_counter()
        rebuild_all(market.up_to(month_start), specs)
        calculation = time.perf_counter() - begin
        begin = time.perf_counter()
        input_hash(market.up_to(month_start))
        hashing = time.perf_counter() - begin
        print(f"  {month_start}: run {full[-1]:.2f} s (first business day of the month: full calculation "
              f"{calculation:.2f} s, input hash {hashing:.2f} s)")

        if continued:
            median = statistics.median(continued)
            print(f"daily run (ledger only), continued from the stored state, median of {len(continued)}: "
                  f"{median:.2f} s (target < 1 s: {'met' if median < 1.0 else 'NOT met'})")
        print(f"daily run (ledger only), calculated in full, median of {len(full)}: {statistics.median(full):.2f} s")

        if arguments.publish:
            begin = time.perf_counter()
            run_daily(market, specs, run_days[-1], out, RunStamp(clock + dt.timedelta(hours=1), "publish"),
                      workers=default_workers(len(specs)))
            print(f"same day again with the full publication (nothing appended): {time.perf_counter() - begin:.2f} s")


if __name__ == "__main__":
    main()
