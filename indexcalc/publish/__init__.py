"""Publishing: levels, weights and tables as files, HTML factsheets, methodology documents and
the site's index page (docs/design.md sections 5 and 7).

Layout of a publication folder (``outputs/`` by default)::

    index.html                          every index, latest level, 1-day and YTD change
    factsheets/INDEX.html               factsheet per index (two A4 pages at most)
    factsheets/INDEX-detail.html        its family tables and full year/month history
    methodology/INDEX.html              methodology document per index
    levels/INDEX.csv                    date,level,daily_return
    levels/all_levels.parquet           index_id,date,level,daily_return of every index
    levels/metadata.json                synthetic (true on the embedded market) and the files
    weights/INDEX.csv                   the weights behind the levels
    holdings/INDEX.csv                  contracts held per 1,000,000 USD (composite indexes)
    api/catalogue.json, api/INDEX/*.json  the machine-readable feed (:mod:`indexcalc.publish.api`)
    <table>/INDEX.csv                   each family table (analytics, trades, stress...)
    grids/GRID.html, grids/GRID.csv     each catalogue grid's variants compared (only with grids)

The publication is written to a staging folder, which becomes ``versions/N``; the entries above
are links through ``current -> versions/N``, switched in one rename
(:func:`indexcalc.atomic.publish_directory`): a failed or killed run leaves the previous
publication in place, and other folders of ``out_dir`` (the ledger) are untouched.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from indexcalc.data.market import MarketData
from indexcalc.atomic import atomic_write_text, publish_directory
from indexcalc.errors import OutputError
from indexcalc.publish.factsheet import (
    FactsheetInputs,
    factsheet_charts,
    long_only_reference,
    render_factsheet_pages,
)
from indexcalc.publish.api import write_api
from indexcalc.publish.holdings import write_holdings
from indexcalc.publish.levels import write_data_files
from indexcalc.publish.methodology import render_methodology
from indexcalc.progress import DelayedProgress
from indexcalc.publish.site import render_site_index
from indexcalc.results import IndexResult
from indexcalc.specs import RollRule

__all__ = [
    "PublicationInputs",
    "default_workers",
    "draw_index_charts",
    "publication_inputs",
    "publish_all",
    "render_index_pages",
    "write_publication",
]

MAX_WORKERS = 4
"""Most rendering processes a publication starts."""
PARALLEL_FROM_INDEXES = 100
"""Fewer indexes than this are rendered in the calling process (in a thread beside the data
files, :func:`write_publication`). Measured on the embedded catalogue (35 indexes, 2 cores):
one process 5.6-6.1 s, two spawned workers 6.6-11.5 s (each imports the libraries and unpickles
the results, and the data files are written before the pool starts)."""


@dataclass(frozen=True)
class PublicationInputs:
    """Market-derived inputs shared by every factsheet: ``rolls``, the roll rule used per index
    id; ``root_levels``, the single-commodity ER levels ``date, root, level`` per roll rule (its
    JSON), for the contributions; ``risk_free``, ``date, collateral_return`` for the Sharpe and
    Sortino ratios of TR indexes (None without TR indexes or rates); ``synthetic``, the market is
    synthetic (``MarketData.synthetic``: every page then carries the banner)."""

    rolls: dict[str, RollRule]
    root_levels: dict[str, pl.DataFrame]
    risk_free: pl.DataFrame | None
    synthetic: bool = False

    def for_index(self, index_id: str) -> tuple[RollRule | None, pl.DataFrame | None]:
        """The roll rule of ``index_id`` and the root levels built with it."""
        rule = self.rolls.get(index_id)
        key = rule.model_dump_json() if rule is not None else None
        return rule, self.root_levels.get(key)


def publication_inputs(results: dict[str, IndexResult], market: MarketData) -> PublicationInputs:
    """Build the series once per roll rule in use, for the roots the indexes' weights hold, and
    the collateral returns on the union of the indexes' dates (the same functions and rule
    choice as :func:`indexcalc.pipeline.rebuild_all`).

    ``results`` were computed on this ``market`` by :func:`indexcalc.pipeline.rebuild_all`, which
    applied the run's disruption policy to these roots: the policies differ only in how many
    consecutive disrupted sessions they accept before stopping, so the series of a run that did
    not stop are the series without a limit ("carry_forward"), built here without stopping."""
    from indexcalc.pipeline import roll_rule_for
    from indexcalc.series import build_series
    from indexcalc.collateral import collateral_returns

    rolls = {index_id: roll_rule_for(result.spec, market) for index_id, result in results.items()}
    held: dict[str, set[str]] = {}
    for index_id, result in results.items():
        held.setdefault(rolls[index_id].model_dump_json(), set()).update(result.weights.get_column("root").unique())
    available = set(market.roots)
    root_levels: dict[str, pl.DataFrame] = {}
    for rule in rolls.values():
        key = rule.model_dump_json()
        roots = sorted(held[key] & available)
        if key not in root_levels and roots:
            root_levels[key] = build_series(market, rule, roots=roots, disruption="carry_forward").select(
                "date", "root", "level"
            )
    risk_free = None
    if any(result.spec.return_type == "tr" for result in results.values()) and market.rates.height:
        dates = pl.concat([result.levels.get_column("date") for result in results.values()]).unique().sort()
        risk_free = collateral_returns(market.rates, dates)
    return PublicationInputs(rolls, root_levels, risk_free, synthetic=market.synthetic)


def draw_index_charts(index_id: str, results: dict[str, IndexResult], instruments: dict) -> dict:
    """The charts of one index's factsheet and detail page (:func:`factsheet_charts`)."""
    result = results[index_id]
    return factsheet_charts(result, instruments, long_only_reference(result.spec, results))


def render_index_pages(
    index_id: str,
    results: dict[str, IndexResult],
    instruments: dict,
    inputs: PublicationInputs,
    charts: dict | None = None,
) -> tuple[str, str, str]:
    """The factsheet, its detail page and the methodology document of one index (HTML);
    ``charts``: its charts drawn beforehand (:func:`draw_index_charts`), else drawn here."""
    result = results[index_id]
    roll, root_levels = inputs.for_index(index_id)
    factsheet, detail = render_factsheet_pages(
        FactsheetInputs(
            result=result,
            instruments=instruments,
            long_only=long_only_reference(result.spec, results),
            root_levels=root_levels,
            risk_free=inputs.risk_free,
            roll=roll,
            synthetic=inputs.synthetic,
            charts=charts,
        )
    )
    return factsheet, detail, render_methodology(result.spec, instruments, roll, synthetic=inputs.synthetic)


_WORKER_STATE: tuple = ()
CHUNKS_PER_WORKER = 4
"""Tasks per rendering process: the indexes are split into about this many chunks per worker,
so that the workers stay busy to the end and the pages are written as chunks complete."""


def _start_worker(shared_file: str) -> None:
    """A rendering worker's initializer: load the instruments and the publication inputs from
    the pickle file the parent wrote (:func:`render_pages_in_pool`)."""
    global _WORKER_STATE
    with open(shared_file, "rb") as handle:
        _WORKER_STATE = pickle.load(handle)


def _render_in_worker(task: tuple[str, tuple[str, ...]]) -> list[tuple[str, str, str, str]]:
    """Render the pages of one chunk: ``task`` is (the chunk's pickle file of results, its index
    ids); the file holds those indexes and the reference indexes their factsheets compare with."""
    chunk_file, index_ids = task
    with open(chunk_file, "rb") as handle:
        results = pickle.load(handle)
    return [(index_id, *render_index_pages(index_id, results, *_WORKER_STATE)) for index_id in index_ids]


WORKER_DIED = (
    "a page-rendering process died (killed, out of memory or crashed) before every page was rendered; "
    "nothing was published (no ledger part was committed, the files are as they were); run again"
)


def render_chunks(results: dict[str, IndexResult], workers: int) -> list[tuple[str, ...]]:
    """The index ids in catalogue order, split into at most ``workers *`` :data:`CHUNKS_PER_WORKER`
    consecutive chunks of nearly equal size."""
    ids = list(results)
    count = max(1, min(len(ids), workers * CHUNKS_PER_WORKER))
    size, extra = divmod(len(ids), count)
    chunks, start = [], 0
    for position in range(count):
        stop = start + size + (1 if position < extra else 0)
        chunks.append(tuple(ids[start:stop]))
        start = stop
    return [chunk for chunk in chunks if chunk]


def render_pages_in_pool(
    results: dict[str, IndexResult],
    instruments: dict,
    inputs: PublicationInputs,
    workers: int,
    write: Callable[[str, str, str], None],
) -> None:
    """Render every index's pages in ``workers`` spawned processes and call ``write(index_id,
    factsheet, detail, methodology)`` in this process for each, in the order of ``results``.

    The indexes go to the workers in chunks (:func:`render_chunks`): each chunk's results, with
    the reference indexes its factsheets compare with (:func:`long_only_reference`: every index
    its family marks as a reference), are pickled to a file of their own, and the instruments
    and inputs to one shared file each worker loads at start, so a worker holds the shared
    inputs and one chunk at a time instead of every result.

    A pool that cannot hang: the workers' state goes through pickle files in a temporary
    folder, and each worker is given only their paths. A spawned process is started by writing
    its start-up arguments into a pipe that this process keeps open until the write ends, so
    with the state itself as arguments (megabytes, far more than a pipe holds) a worker that
    died at start-up, before reading them, left this process blocked in that write forever.
    With paths the write fits in the pipe whatever happens to the worker. A worker that dies at
    any moment (start-up or mid-render) breaks the pool: the pending renders are cancelled, the
    other workers stopped, and an :class:`OutputError` is raised (:data:`WORKER_DIED`).
    """
    from indexcalc.families.registry import FAMILIES

    references = {index_id for index_id, result in results.items() if FAMILIES.of(result.spec).is_reference(result.spec)}
    with tempfile.TemporaryDirectory(prefix="indexcalc-render-") as folder:
        shared_file = Path(folder) / "worker-state.pickle"
        with open(shared_file, "wb") as handle:
            pickle.dump((instruments, inputs), handle, protocol=pickle.HIGHEST_PROTOCOL)
        tasks = []
        for position, chunk in enumerate(render_chunks(results, workers)):
            keep = set(chunk) | references
            chunk_file = Path(folder) / f"chunk-{position}.pickle"
            with open(chunk_file, "wb") as handle:
                pickle.dump({index_id: result for index_id, result in results.items() if index_id in keep}, handle,
                            protocol=pickle.HIGHEST_PROTOCOL)
            tasks.append((str(chunk_file), chunk))
        # spawn, not fork: forking a process whose polars thread pool is running can deadlock
        pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(str(shared_file),),
        )
        try:
            for pages in pool.map(_render_in_worker, tasks):
                for index_id, *rendered in pages:
                    write(index_id, *rendered)
        except BrokenProcessPool:
            raise OutputError(WORKER_DIED) from None
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def default_workers(count: int) -> int:
    """Processes for rendering ``count`` indexes: one per CPU (at most :data:`MAX_WORKERS`),
    and a single one for fewer than :data:`PARALLEL_FROM_INDEXES` indexes (the catalogue's
    size), where starting processes costs more than it saves."""
    if count < PARALLEL_FROM_INDEXES:
        return 1
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


def write_grid_pages(results: dict[str, IndexResult], inputs: PublicationInputs, out_dir: Path) -> None:
    """``grids/GRID.html`` and ``grids/GRID.csv`` for each catalogue grid (:mod:`indexcalc.publish.grids`)."""
    from indexcalc.families.registry import FAMILIES
    from indexcalc.publish.grids import grid_table, grids_of, render_grid_page

    for grid, ids in grids_of(results).items():
        table = grid_table([results[index_id] for index_id in ids], inputs.risk_free,
                           lambda index_id: inputs.for_index(index_id)[1])
        atomic_write_text(out_dir / "grids" / f"{grid}.csv", table.write_csv(float_precision=8))
        title = FAMILIES.of(results[ids[0]].spec).title
        atomic_write_text(out_dir / "grids" / f"{grid}.html", render_grid_page(grid, table, title, inputs.synthetic))


def write_publication(
    results: dict[str, IndexResult],
    market: MarketData,
    out_dir: Path,
    inputs: PublicationInputs | None = None,
    progress: DelayedProgress | None = None,
    workers: int = 1,
) -> None:
    """Write every file of the publication into ``out_dir`` (no staging; see :func:`publish_all`).
    ``inputs``: :func:`publication_inputs` of ``results`` on ``market``, built here when None.

    With ``workers=1`` the pages are rendered in a thread of this process while this thread
    builds the ``inputs`` (when not given) and writes the holdings and api/ files: those are
    polars work and file writes, which release the interpreter lock, so both cores work at once
    without the start-up of a process or the pickling of the results. The rendering thread
    first draws every index's charts and writes the levels, weights and tables files (neither
    needs the ``inputs``), then renders the pages (in catalogue order, so matplotlib is used by
    one thread only).
    More ``workers`` are rendering
    processes (see :func:`default_workers`), spawned, so a calling script needs the ``if
    __name__ == "__main__":`` guard; a worker that dies is an :class:`OutputError`
    (:func:`render_pages_in_pool`). The files written do not depend on the number of workers.
    On an error ``out_dir`` is partly written (callers write into a staging folder and drop it).
    """

    def write(index_id: str, factsheet: str, detail: str, methodology: str) -> None:
        atomic_write_text(out_dir / "factsheets" / f"{index_id}.html", factsheet)
        atomic_write_text(out_dir / "factsheets" / f"{index_id}-detail.html", detail)
        atomic_write_text(out_dir / "methodology" / f"{index_id}.html", methodology)
        if progress:
            progress.advance(index_id)

    def write_data(levels_too: bool = True) -> str:
        """Write the data files (the levels, weights and tables unless ``levels_too`` is
        False); return the site's index page (rendered here, off the pages' thread, written
        last)."""
        if levels_too:
            write_data_files(results, out_dir, synthetic=market.synthetic)
        write_holdings(results, market, inputs, out_dir)
        write_api(results, out_dir)
        write_grid_pages(results, inputs, out_dir)
        if progress:
            progress.advance("levels, weights and tables")
        return render_site_index(results, synthetic=market.synthetic)

    if workers <= 1:
        renderer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="indexcalc-render")
        try:
            # one rendering thread, its tasks run in the order submitted: every chart, the
            # levels, weights and tables files (which need no inputs either, and balance the two
            # threads' work), then the pages
            drawn = [renderer.submit(draw_index_charts, index_id, results, market.instruments) for index_id in results]
            levels_written = renderer.submit(write_data_files, results, out_dir, synthetic=market.synthetic)
            if inputs is None:
                inputs = _inputs(results, market, progress)
            pages = [renderer.submit(_render_with_charts, index_id, results, market.instruments, inputs, charts)
                     for index_id, charts in zip(results, drawn)]
            site_index = write_data(levels_too=False)
            levels_written.result()
            for index_id, rendered in zip(results, pages):
                write(index_id, *rendered.result())
        finally:
            renderer.shutdown(wait=True, cancel_futures=True)
    else:
        if inputs is None:
            inputs = _inputs(results, market, progress)
        site_index = write_data()
        render_pages_in_pool(results, market.instruments, inputs, workers, write)
    atomic_write_text(out_dir / "index.html", site_index)
    if progress:
        progress.advance("index page")


def _inputs(results: dict[str, IndexResult], market: MarketData, progress: DelayedProgress | None) -> PublicationInputs:
    inputs = publication_inputs(results, market)
    if progress:
        progress.advance("series for contributions")
    return inputs


def _render_with_charts(
    index_id: str, results: dict[str, IndexResult], instruments: dict, inputs: PublicationInputs, charts: Future
) -> tuple[str, str, str]:
    """:func:`render_index_pages` with the charts the same thread drew before (a done future)."""
    return render_index_pages(index_id, results, instruments, inputs, charts.result())


def publish_all(
    results: dict[str, IndexResult],
    market: MarketData,
    out_dir: Path,
    progress: bool = False,
    workers: int = 1,
) -> None:
    """Publish ``results`` into ``out_dir`` atomically (staged, then swapped in).

    ``progress``: show a progress bar on stderr if the run takes longer than a second;
    ``workers``: rendering processes (see :func:`write_publication`; the CLI uses
    :func:`default_workers`).
    """
    with DelayedProgress(total=len(results) + 3, description="publishing", enabled=progress) as bar:
        with publish_directory(out_dir) as staging:
            write_publication(results, market, staging, None, bar, workers)
