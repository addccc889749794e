"""The indexcalc benchmark suite: rebuild, scaling, daily run, publication, peers.

    python3 benchmarks/run.py [--quick] [--repeat N] [--json PATH] [--compare OLD.json]
                              [--only NAME ...] [--big-market DIR]

Benchmarks (each in a fresh Python process, so that its peak memory is its own):

- ``rebuild``: ``indexcalc.pipeline.rebuild_all`` of every computable catalogue index on the
  embedded market (23 roots, 1995 to date); the market is loaded before the timing.
- ``rebuild_200x30``: the same on a generated 200-root, 30-year market (the 23 templates plus
  177 clones, ``MarketGeneratorSpec(extra_roots=177)``, 1996-11 to 2026-10), generated once
  into ``--big-market`` (default ``/tmp/indexcalc-bench/market-200x30``) and reused.
- ``daily``: one daily run, ``indexcalc.operations.run_daily`` for the market's last date on a
  published state of the day before (ledger only: ``publish=False``; the state is made before
  the timing and copied afresh for every run): a day inside a month, continued from the
  stored state (the run must report it so).
- ``daily_full``: the same for the first business day of the market's last month, on a state
  published through the day before: a new month, so every index is calculated in full.
- ``daily_cli``: the ``daily`` day through the command line, ``indexcalc run --date D
  --no-publish``, in a fresh interpreter each time: what an operator waits for (interpreter
  start, imports, loading the market and the catalogue, the run).
- ``run_published``: ``indexcalc run --date D --no-publish`` for a date the ledger already
  holds, in a fresh interpreter: answered from the ledger before the market is loaded.
- ``publish``: ``indexcalc.publish.publish_all`` of every factsheet (and its detail page),
  methodology page and data file of the rebuild's results into a fresh folder, with the
  rendering processes the CLI uses (``default_workers``: one, the pages rendered in a thread
  beside the data files, below 100 indexes; else one per CPU, at most 4).
- ``peers``: ``benchmarks/peers.py`` (macrosynergy and plain pandas side by side).
- ``grid_1000``, ``grid_1000_200x30``: the 1,000 momentum variants of the catalogue grid
  ``examples/grid-sweep/`` in one process, on the embedded and on the 200-root market;
  ``ray_grid``: the same on a local Ray instance with 2 workers, against the in-process
  executor, results compared to the bit (``benchmarks/grid_bench.py``; its CPU column is the
  benchmark process's only, not the Ray workers').

Figures: wall-clock and CPU seconds, each the median of N timed runs after one untimed warm-up
run (whose wall time is shown as ``cold``: first-use caches such as exchange calendars), the
fastest wall time (``min``) and the machine's 1-minute load average at the start and end of
the runs (``load``, the larger shown): the machine is shared, and a load above its 2 cores
stretches wall times while CPU seconds barely move, so targets are judged on both. CPU is
the process's CPU time (every polars thread) plus that of worker processes it waited for, so
it can exceed the wall time on the 2-core machine. Peak memory is ``ru_maxrss`` (resident set
high-water mark) of the benchmark's process, read by the parent with ``os.wait4`` when the
process ends: the ``RUSAGE_CHILDREN`` figure of that one child, so the largest of the process
and the worker processes it waited for (the publisher's), not their sum. It covers the whole
process: interpreter, imports, market, setup and the runs; ``base`` is the process's own
``ru_maxrss`` just before the first run (market and setup), so ``peak - base`` is what the
benchmark itself added. The parent imports nothing heavy: a process started by exec keeps
its parent's high-water mark as its own starting point, so a large parent would inflate it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
DEFAULT_BIG_MARKET = Path(tempfile.gettempdir()) / "indexcalc-bench" / "market-200x30"
BIG_MARKET = {"extra_roots": 177, "start": dt.date(1996, 11, 1), "end": dt.date(2026, 10, 31)}
"""200 roots (23 templates + 177 clones) over 30 years."""

BENCHMARKS = ("rebuild", "rebuild_200x30", "daily", "daily_full", "daily_cli", "run_published", "publish",
              "grid_1000", "grid_1000_200x30", "ray_grid", "peers")
TARGETS = {"rebuild": ("wall", 2.0), "rebuild_200x30": ("wall", 15.0), "daily": ("wall", 1.0),
           "run_published": ("wall", 1.0), "publish": ("wall", 3.0), "grid_1000": ("wall", 30.0)}
MEMORY_TARGETS_MIB = {"rebuild_200x30": 2048.0}
DESCRIPTIONS = {
    "rebuild": "full rebuild, embedded market (23 roots)",
    "rebuild_200x30": "full rebuild, 200 roots x 30 years",
    "daily": "one daily run (ledger; continued day)",
    "daily_full": "one daily run (ledger; month's first day)",
    "daily_cli": "indexcalc run --no-publish (fresh process)",
    "run_published": "indexcalc run, date already published",
    "publish": "publish all factsheets + methodology",
    "grid_1000": "1,000 momentum grid variants, in process",
    "grid_1000_200x30": "1,000 grid variants, 200 roots x 30 years",
    "ray_grid": "1,000 grid variants, Ray local 2 workers",
}


def _mib(kilobytes: float) -> float:
    return kilobytes / 1024.0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(run: Callable[[], object], repeat: int, warm_up: bool = True,
            before_each: Callable[[], None] | None = None) -> dict:
    """Wall and CPU seconds of ``repeat`` runs of ``run`` (after an untimed warm-up run), and the
    process's own peak RSS before the first run. ``before_each`` prepares a run, untimed."""
    base = _mib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    load_before = os.getloadavg()[0]
    walls, cpus = [], []
    cold = None
    for index in range(repeat + (1 if warm_up else 0)):
        if before_each:
            before_each()
        wall, cpu, children = time.perf_counter(), time.process_time(), _children_cpu()
        run()
        wall = time.perf_counter() - wall
        cpu = time.process_time() - cpu + _children_cpu() - children
        if warm_up and index == 0:
            cold = wall
            continue
        walls.append(wall)
        cpus.append(cpu)
    return {
        "wall": statistics.median(walls),
        "wall_min": min(walls),
        "cpu": statistics.median(cpus),
        "load_average": [load_before, os.getloadavg()[0]],
        "wall_runs": walls,
        "cpu_runs": cpus,
        "cold_wall": cold,
        "base_rss_mib": base,
    }


# --- the benchmarks (run inside the child process) ---------------------------------------------


def _catalogue(market):
    from indexcalc.pipeline import computable
    from indexcalc.catalogue import load_catalogue

    specs, skipped = computable(load_catalogue(), market)
    return specs, skipped


def bench_rebuild(repeat: int, market_dir: Path | None = None) -> dict:
    from indexcalc.data.embedded import DEFAULT_MARKET_DIR, load_default_market
    from indexcalc.pipeline import rebuild_all

    load_start = time.perf_counter()
    market = load_default_market(market_dir or DEFAULT_MARKET_DIR)
    load_seconds = time.perf_counter() - load_start
    specs, skipped = _catalogue(market)
    figures = measure(lambda: rebuild_all(market, specs), repeat)
    return figures | {
        "indexes": len(specs),
        "skipped": [f"{item.index_id}: {item.reason}" for item in skipped],
        "roots": len(market.roots),
        "price_rows": market.prices.height,
        "first_date": str(market.prices.get_column("date").min()),
        "last_date": str(market.prices.get_column("date").max()),
        "load_seconds": load_seconds,
    }


def big_market(directory: Path) -> dict:
    """Generate the 200 x 30 market into ``directory`` unless a matching one is there."""
    from indexcalc.data.embedded import MarketGeneratorSpec, generate_market, write_market

    spec = MarketGeneratorSpec(**BIG_MARKET)
    stamp = directory / "generator.json"
    wanted = spec.model_dump_json(include={"seed", "start", "end", "extra_roots"})
    if stamp.exists() and stamp.read_text() == wanted:
        return {"generated": False}
    started = time.perf_counter()
    market = generate_market(spec)
    generation = time.perf_counter() - started
    write_market(market, directory, seed=spec.seed)
    stamp.write_text(wanted)
    return {"generated": True, "generation_seconds": generation, "roots": len(market.roots),
            "price_rows": market.prices.height}


def bench_daily(repeat: int, first_of_month: bool = False) -> dict:
    try:
        from indexcalc.operations import RunStamp, rebuild, run_daily
    except ImportError as error:
        return {"unavailable": f"indexcalc.operations has no daily run yet ({error})"}
    import polars as pl

    from indexcalc.data.embedded import load_default_market

    market = load_default_market()
    specs, _ = _catalogue(market)
    dates = market.prices.get_column("date").unique().sort()
    if first_of_month:
        month_dates = dates.filter((dates.dt.year() == dates[-1].year) & (dates.dt.month() == dates[-1].month))
        position = dates.to_list().index(month_dates[0])
        day, previous = dates[position], dates[position - 1]
    else:
        day, previous = dates[-1], dates[-2]
    stamp = RunStamp(dt.datetime(2026, 11, 2, 22, 0, tzinfo=dt.timezone.utc), "benchmark")
    scratch = Path(tempfile.mkdtemp(prefix="indexcalc-daily-"))
    state, out_dir = scratch / "state", scratch / "run"
    try:
        rebuild(market.up_to(previous), specs, state, RunStamp(stamp.run_time, "benchmark-state"), publish=False)

        def fresh_state() -> None:
            shutil.rmtree(out_dir, ignore_errors=True)
            shutil.copytree(state, out_dir)

        outcome: dict = {}

        def run() -> None:
            outcome["result"] = run_daily(market, specs, day, out_dir, stamp, publish=False)

        figures = measure(run, repeat, before_each=fresh_state)
        appended = sum(outcome["result"].appended.values())
        if bool(outcome["result"].full_days) != first_of_month:
            raise RuntimeError(f"{day} was {'not ' if first_of_month else ''}calculated in full")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return figures | {"date": str(day), "indexes": len(specs), "ledger_rows_appended": appended,
                      "price_rows": market.prices.filter(pl.col("date") <= day).height}


def bench_daily_cli(repeat: int) -> dict:
    from indexcalc.data.embedded import load_default_market
    from indexcalc.operations import RunStamp, rebuild

    market = load_default_market()
    specs, _ = _catalogue(market)
    dates = market.prices.get_column("date").unique().sort()
    day, previous = dates[-1], dates[-2]
    scratch = Path(tempfile.mkdtemp(prefix="indexcalc-daily-cli-"))
    state, out_dir = scratch / "state", scratch / "run"
    command = [sys.executable, "-c", "from indexcalc.cli import main; main()", "run", "--date", str(day),
               "--no-publish", "--no-progress", "--out", str(out_dir)]
    try:
        stamp = RunStamp(dt.datetime(2026, 11, 2, 22, 0, tzinfo=dt.timezone.utc), "benchmark-state")
        rebuild(market.up_to(previous), specs, state, stamp, publish=False)
        del market

        def fresh_state() -> None:
            shutil.rmtree(out_dir, ignore_errors=True)
            shutil.copytree(state, out_dir)

        outcome: dict = {}

        def run() -> None:
            outcome["stdout"] = subprocess.run(command, capture_output=True, text=True, check=True, cwd=scratch).stdout

        figures = measure(run, repeat, before_each=fresh_state)
        if "continued from the stored state" not in outcome["stdout"]:
            raise RuntimeError(f"{day} was not continued: {outcome['stdout'].strip()}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return figures | {"date": str(day), "command": " ".join(command[3:])}


def bench_run_published(repeat: int) -> dict:
    from indexcalc.data.embedded import load_default_market
    from indexcalc.operations import RunStamp, rebuild

    market = load_default_market()
    specs, _ = _catalogue(market)
    day = market.prices.get_column("date").max()
    scratch = Path(tempfile.mkdtemp(prefix="indexcalc-run-published-"))
    command = [sys.executable, "-c", "from indexcalc.cli import main; main()", "run", "--date", str(day),
               "--no-publish", "--no-progress", "--out", str(scratch / "state")]
    try:
        stamp = RunStamp(dt.datetime(2026, 11, 2, 22, 0, tzinfo=dt.timezone.utc), "benchmark-state")
        rebuild(market, specs, scratch / "state", stamp, publish=False)
        del market
        outcome: dict = {}

        def run() -> None:
            outcome["stdout"] = subprocess.run(command, capture_output=True, text=True, check=True, cwd=scratch).stdout

        figures = measure(run, repeat)
        if "already published" not in outcome["stdout"]:
            raise RuntimeError(f"{day} was not reported as published: {outcome['stdout'].strip()}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return figures | {"date": str(day), "command": " ".join(command[3:])}


def bench_publish(repeat: int) -> dict:
    try:
        from indexcalc.publish import default_workers, publish_all
    except ImportError as error:
        return {"unavailable": f"indexcalc.publish has no publish_all yet ({error})"}
    from indexcalc.data.embedded import load_default_market
    from indexcalc.pipeline import rebuild_all

    market = load_default_market()
    specs, _ = _catalogue(market)
    results = rebuild_all(market, specs)
    scratch = Path(tempfile.mkdtemp(prefix="indexcalc-publish-"))
    counter = {"run": 0}

    def run() -> None:
        counter["run"] += 1
        publish_all(results, market, scratch / f"out{counter['run']}", workers=default_workers(len(results)))

    try:
        figures = measure(run, repeat)
        files = sum(1 for path in (scratch / "out1").rglob("*") if path.is_file())
        size = sum(path.stat().st_size for path in (scratch / "out1").rglob("*") if path.is_file())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return figures | {"indexes": len(results), "files": files, "megabytes": size / 1e6}


def bench_peers(repeat: int) -> dict:
    sys.path.insert(0, str(HERE))
    import peers

    base = _mib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    return peers.run_peers(None, repeat) | {"base_rss_mib": base}


def child(name: str, repeat: int, big_market_dir: Path) -> dict:
    warnings.filterwarnings("ignore")
    if name == "rebuild":
        return bench_rebuild(repeat)
    if name == "rebuild_200x30":
        return bench_rebuild(repeat, big_market_dir)
    if name == "daily":
        return bench_daily(repeat)
    if name == "daily_full":
        return bench_daily(repeat, first_of_month=True)
    if name == "daily_cli":
        return bench_daily_cli(repeat)
    if name == "run_published":
        return bench_run_published(repeat)
    if name == "publish":
        return bench_publish(repeat)
    if name == "peers":
        return bench_peers(repeat)
    if name in ("grid_1000", "grid_1000_200x30", "ray_grid"):
        sys.path.insert(0, str(HERE))
        import grid_bench

        if name == "ray_grid":
            return grid_bench.bench_ray_grid(repeat, measure)
        return grid_bench.bench_grid(repeat, measure, big_market_dir if name == "grid_1000_200x30" else None)
    if name == "generate":
        return big_market(big_market_dir)
    raise ValueError(f"unknown benchmark {name!r}")


# --- the parent: one fresh process per benchmark -------------------------------------------------


def run_child(name: str, repeat: int, big_market_dir: Path) -> dict:
    """Run one benchmark in a fresh interpreter; its figures plus its peak RSS (os.wait4)."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", name, "--repeat", str(repeat),
               "--big-market", str(big_market_dir)]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=PROJECT)
    stdout, stderr = process.stdout.read(), process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - started
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if process.returncode != 0 or not lines:
        return {"unavailable": f"benchmark process failed (exit {process.returncode}): "
                               f"{(stderr.strip().splitlines() or ['no output'])[-1]}", "stderr": stderr[-4000:]}
    figures = json.loads(lines[-1])
    figures["peak_rss_mib"] = _mib(usage.ru_maxrss)
    figures["process_seconds"] = elapsed
    return figures


def package_dir() -> Path:
    """Where the ``indexcalc`` being measured lives (found without importing it)."""
    from importlib.util import find_spec

    spec = find_spec("indexcalc")
    return Path(spec.origin).resolve().parent.parent if spec and spec.origin else PROJECT


def git_commit(directory: Path) -> str:
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                cwd=directory, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, cwd=directory).stdout.strip()
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return f"unknown ({directory})"


def machine() -> dict:
    from importlib.metadata import version

    return {"cpus": os.cpu_count(), "python": platform.python_version(), "polars": version("polars"),
            "load_average": os.getloadavg()}


def format_table(report: dict) -> str:
    lines = [
        f"indexcalc benchmarks at {report['commit']}, {report['date']}, {report['machine']['cpus']} CPUs, "
        f"load {report['machine']['load_average'][0]:.1f}, {report['repeat']} runs each (median)",
        f"{'benchmark':42s} {'wall s':>7s} {'min s':>7s} {'cpu s':>7s} {'cold s':>7s} {'peak MiB':>8s} "
        f"{'base MiB':>8s} {'load':>5s}  target",
    ]
    for name in BENCHMARKS:
        if name == "peers" or name not in report["benchmarks"]:
            continue
        figures = report["benchmarks"][name]
        label = DESCRIPTIONS[name]
        if "unavailable" in figures:
            lines.append(f"{label:42s} {'n/a':>8s}  {figures['unavailable']}")
            continue
        target = ""
        if name in TARGETS:
            # the targets are wall times on the 2-core machine ("in at most 3 s on 2 cores"): the
            # CPU time counts every thread of polars and of the publisher, so it exceeds the wall
            # time of work spread over both cores and is no verdict; it is printed beside it
            basis, limit = TARGETS[name]
            target = f"< {limit:g} s {basis}: {'ok' if figures[basis] < limit else 'MISSED'}"
        if name in MEMORY_TARGETS_MIB:
            limit = MEMORY_TARGETS_MIB[name]
            target += f"; < {limit / 1024:g} GiB {'ok' if figures['peak_rss_mib'] < limit else 'MISSED'}"
        load = max(figures.get("load_average", [float("nan")]))
        lines.append(
            f"{label:42s} {figures['wall']:7.3f} {figures['wall_min']:7.3f} {figures['cpu']:7.3f} "
            f"{figures['cold_wall']:7.3f} {figures['peak_rss_mib']:8.0f} {figures['base_rss_mib']:8.0f} {load:5.1f}  {target}"
        )
    details = []
    for name in ("rebuild", "rebuild_200x30", "grid_1000", "grid_1000_200x30"):
        figures = report["benchmarks"].get(name, {})
        if "indexes" in figures:
            details.append(f"  {name}: {figures['indexes']} indexes, {figures['roots']} roots, "
                           f"{figures['price_rows']:,} price rows, {figures['first_date']} to {figures['last_date']}"
                           + (f"; skipped {len(figures['skipped'])}" if figures["skipped"] else ""))
    ray = report["benchmarks"].get("ray_grid", {})
    if "in_process_wall" in ray:
        details.append(f"  ray_grid: {ray['indexes']} indexes; in process {ray['in_process_wall']:.2f} s wall, "
                       f"Ray (2 workers) {ray['wall']:.2f} s; Ray start {ray['ray_start_seconds']:.1f} s; "
                       f"Ray processes {ray['ray_processes_rss_mib'] or float('nan'):.0f} MiB; "
                       f"results identical: {ray['identical']}")
    if "generation" in report and report["generation"].get("generated"):
        generation = report["generation"]
        details.append(f"  200x30 market generated in {generation['generation_seconds']:.1f} s (not timed above)")
    lines.extend(details)
    peers = report["benchmarks"].get("peers")
    if peers is not None:
        if "unavailable" in peers:
            lines.append(f"peers: n/a  {peers['unavailable']}")
        else:
            carry, longshort = peers["carry_vs_macrosynergy"], peers["longshort_vs_pandas"]
            lines += [
                f"{'side by side (same input)':42s} {'wall s':>8s} {'cpu s':>8s} {'ratio':>8s} {'ratio cpu':>9s} "
                f"{'ratio min':>9s}",
                f"{'carry: macrosynergy zn + rv + NaivePnL':42s} {carry['macrosynergy']['wall']:8.3f} "
                f"{carry['macrosynergy']['cpu']:8.3f} {carry['ratio']:7.1f}x {carry['ratio_cpu']:8.1f}x "
                f"{carry['ratio_min']:8.1f}x  target >= 10x "
                + " / ".join("ok" if carry[key] >= 10 else "MISSED" for key in ("ratio", "ratio_cpu", "ratio_min"))
                + f" (peak {peers['peak_rss_mib']:.0f} MiB)",
                f"{'carry: indexcalc zn + rv + basket levels':42s} {carry['indexcalc']['wall']:8.3f} "
                f"{carry['indexcalc']['cpu']:8.3f}",
                f"{'Long/Short x5 ER: plain pandas':42s} {longshort['pandas']['wall']:8.3f} "
                f"{longshort['pandas']['cpu']:8.3f} {longshort['ratio']:7.1f}x {longshort['ratio_cpu']:8.1f}x "
                f"{longshort['ratio_min']:8.1f}x",
                f"{'Long/Short x5 ER: indexcalc':42s} {longshort['indexcalc']['wall']:8.3f} "
                f"{longshort['indexcalc']['cpu']:8.3f}",
                f"  same results: z-scores max |diff| {carry['zscore_max_abs_difference']:.1e}, relative values "
                f"{carry['relative_max_abs_difference']:.1e}, Long/Short levels max rel. diff "
                f"{longshort['levels_max_relative_difference']:.1e}",
            ]
    return "\n".join(lines)


def format_comparison(report: dict, previous: dict) -> str:
    lines = [f"against {previous.get('commit', '?')} ({previous.get('date', '?')}): new / old"]
    for name in BENCHMARKS:
        new, old = report["benchmarks"].get(name, {}), previous.get("benchmarks", {}).get(name, {})
        if name == "peers" and "carry_vs_macrosynergy" in new and "carry_vs_macrosynergy" in old:
            for part, side in (("carry_vs_macrosynergy", "indexcalc"), ("longshort_vs_pandas", "indexcalc")):
                ratio = new[part][side]["wall"] / old[part][side]["wall"]
                lines.append(f"  {part:38s} wall x{ratio:.2f}")
        elif "wall" in new and "wall" in old:
            lines.append(f"  {DESCRIPTIONS[name]:38s} wall x{new['wall'] / old['wall']:.2f}, "
                         f"cpu x{new['cpu'] / old['cpu']:.2f}, peak MiB x{new['peak_rss_mib'] / old['peak_rss_mib']:.2f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs (2 instead of 5)")
    parser.add_argument("--repeat", type=int, default=None, help="timed runs per benchmark (default 5, quick 2)")
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, default=None)
    parser.add_argument("--json", type=Path, default=None, help="write every figure as JSON here")
    parser.add_argument("--compare", type=Path, default=None, help="a JSON written earlier: print new / old")
    parser.add_argument("--big-market", type=Path, default=DEFAULT_BIG_MARKET)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    repeat = arguments.repeat or (2 if arguments.quick else 5)

    if arguments.child:
        try:
            figures = child(arguments.child, repeat, arguments.big_market)
        except Exception as error:  # noqa: BLE001 - reported as the row's reason
            traceback.print_exc()
            figures = {"unavailable": f"{type(error).__name__}: {error}"}
        print(json.dumps(figures, default=str))
        return

    names = arguments.only or list(BENCHMARKS)
    report: dict = {"commit": git_commit(package_dir()), "package": str(package_dir()), "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                    "machine": machine(), "repeat": repeat, "memory": "ru_maxrss via os.wait4 of a fresh process",
                    "benchmarks": {}}
    if "rebuild_200x30" in names or "grid_1000_200x30" in names:
        print("preparing the 200 x 30 market ...", file=sys.stderr)
        report["generation"] = run_child("generate", repeat, arguments.big_market)
    for name in names:
        print(f"running {name} ...", file=sys.stderr)
        report["benchmarks"][name] = run_child(name, repeat, arguments.big_market)
    print(format_table(report))
    if arguments.compare:
        print(format_comparison(report, json.loads(arguments.compare.read_text())))
    if arguments.json:
        arguments.json.parent.mkdir(parents=True, exist_ok=True)
        arguments.json.write_text(json.dumps(report, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
