"""Daily operation: the daily run, catch-up, the rebuild against the ledger, restatements
(docs/design.md section 7).

**State.** The published state is the ledger (:mod:`indexcalc.ledger`): every level ever
published, per index id and date. Beside it the daily run keeps its stored state
(:data:`STATE_FILE`, :mod:`indexcalc.daystate`): per composite index the positions of its
current period (anchor date and level, weights, anchor series levels) and its last levels, per
root its last series level. The state is a cache of the ledger and the data: it is used only
when it is as of the last published date, holds every index's last published level exactly,
was computed with the same specs, roll rules, disruption policy, instruments and package
version, and the data up to its
date still has the input hash it was computed on (:func:`state_problem`); otherwise, or
without it, the run calculates in full.

**Daily run for D** (:func:`run_daily`, :func:`plan_day`):

1. D must be a business day of the index calendar (:func:`index_calendar`); the published
   state must exist (``indexcalc rebuild`` creates it) and have no gap before D: the business
   days after the last published date and before D must be published first (``catch_up`` runs
   each of them, in order, as its own daily run).
2. Required data (:func:`check_required_data`): every root in use whose exchange is open on D
   must have a settlement on D for each contract it held at the previous close; otherwise a
   DataError names root, contract and date. Except a root whose data has *ended* as of the
   run's date (no settlement for more than five business days of its exchange,
   :mod:`indexcalc.rules.ended`): its last price is carried as in the rebuild (the momentum
   indexes drop it at their next rebalance), and the run prints a notice for it, once
   (:func:`ended_root_notices`; the rebuild prints the same notice).
3. D's levels. Inside a month the stored state continues the composite indexes (the momentum
   family, carry and base-metals baskets) from the day's series alone
   (:func:`indexcalc.daystate.continue_day`: ``C_D = C_a (1 + sum_i W_i (ER_{i,D} / ER_{i,a} - 1))``,
   the full calculation's expressions), and the copper strategy, whose position is
   path-dependent every day, is calculated in full. On a day that may change positions (the
   first of a month, a drift trigger, a pending rebalance) or when the state cannot be used,
   every index is calculated in full: ``rebuild_all`` on ``market.up_to(D)``, the same code as
   the rebuild (no family may look past its data; the 60-day test checks this and that every
   day, continued or full, equals the rebuild to the bit).
4. What was calculated in full must reproduce the published levels at every published date
   (:func:`compare_with_ledger`: the official levels, rounded to each spec's precision, are
   compared; :mod:`indexcalc.official`); otherwise the run
   refuses and points to ``indexcalc rebuild``, which reports the restatement. A continued day
   needs no such check: the state check (the input hash of the data up to its date) sees any
   change to the published history's data, and the next full day re-checks all of it.
5. D's rows (version 1) are appended to the ledger (the commit point), then the state as of D
   is stored. With publication, the files are rewritten from the published levels
   (:func:`with_published_levels`) and a full calculation's weights and tables; on a continued
   day that full calculation also audits the continued levels (:func:`complete_results`).

Checking every published date (not only the last one) matters: a one-day error in a settle
moves a fixed-position index's level on that day only (the next day's return undoes it).

**Index calendar.** ``exchange`` (default for the embedded market): an index's business days
are the union of the exchange calendars (:mod:`indexcalc.data.calendars`) of its roots in use;
``data`` (default for imported vendor data): the dates on which one of its roots has prices.
The run's calendar is the union over the catalogue. Required data is judged on each root's own
exchange calendar in both cases.

**Cost.** A continued day costs the day's series (a window of prices), the copper strategy
and two input hashes, about 0.5-0.9 s on the embedded market; a full day one full-history
calculation plus about 0.2 s of checks; see ``benchmarks/daily_bench.py``.

**Idempotence.** Running the last published date again appends nothing and republishes the
same bytes (the publication holds no timestamps; it is a function of the ledger and the data),
which also repairs a publication interrupted after its commit point. An earlier published date
is a no-op that writes nothing.

**Interruption safety** (:func:`publish_with_commit`). Every republished file is written into a
staging folder first; then the ledger part is appended (the commit point); then the staged
folder becomes a new version and the ``current`` symlink is switched to it in one rename
(:func:`indexcalc.atomic.publish_directory`). A run killed before the commit leaves ledger and
publication as they were; a run killed after it shows the previous publication or the new one,
never a mix, and is completed by running the same date again; the next run removes what a
killed run left (:func:`remove_stale_staging`). One writer at a time: ``rebuild`` and ``run``
hold the output folder's lock (:func:`indexcalc.ledger.output_lock`, ``OUT/.lock``) for their
whole duration (``publish`` while it writes), and a second writer is refused at once.

**Failures of the output side** (:func:`output_stage`). An ``OSError`` while writing (disk
full, read-only folder) is an :class:`indexcalc.errors.OutputError`, one line naming the path
and the cause and stating what the run left: before the commit nothing changed; at it nothing
was published; after it the ledger holds the levels and running the same date again
republishes the files; a day state that could not be written only makes the next run
calculate in full.

**Retired indexes** (:mod:`indexcalc.retirement`). A published index that the data can no
longer compute stops ``rebuild`` and ``run``, changing nothing, until ``rebuild`` retires it
(``retire``, with a reason, recorded in the ledger); a retired index keeps its ledger rows and
its published files, which every later publication carries over with a note on its factsheet.

**Rebuild** (:func:`rebuild`). The full history on the whole market. With no ledger it is the
initial publication (version 1). With a ledger, published levels that would move are written
to ``restatements/DATE.csv`` (``index, date, published, recomputed, difference``; DATE = the
run's UTC date) and the rebuild refuses, changing nothing, unless a restatement reason is
given: the corrected levels are then appended as the next version of each moved (index, date)
with the reason. Dates never published are appended (version 1) either way.
"""

from __future__ import annotations

import datetime as dt
import errno
import shutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import polars as pl

from indexcalc.data.calendars import business_days
from indexcalc.data.market import MarketData
from indexcalc.daystate import (
    DayState,
    Discontinued,
    continue_day,
    continued_specs,
    reference_fingerprint,
    state_from_calculation,
)
from indexcalc.errors import DataError, OutputError, StateError
from indexcalc.ledger import (
    LEDGER_SCHEMA,
    Ledger,
    current_view,
    input_hash,
    input_hashes,
    ledger_rows,
    methodology_version,
    output_lock,
)
from indexcalc.official import official_by_index, precisions_of
from indexcalc.pipeline import Calculation, Skipped, calculate, computable, rebuild_all, roll_rule_for, rule_key
from indexcalc.release import check_nothing_held
from indexcalc.results import IndexResult
from indexcalc.rules.ended import ended_notice, ended_roots, last_priced_days
from indexcalc.specs import IndexSpecBase

LEVEL_TOLERANCE = 1e-12
"""Relative tolerance under which a recomputed level equals the published one:
``|recomputed - published| <= LEVEL_TOLERANCE * |published|``."""

HELD_CONTRACT_LOOKBACK_DAYS = 120
"""Calendar days of prices before D used to find the contracts held at the previous close (a
roll schedule at a close depends only on its own and the previous month's business days)."""

LEDGER_FOLDER = "ledger"
STATE_FILE = "day-state.json"
"""The daily run's stored state (:mod:`indexcalc.daystate`), in the ledger folder."""
RESTATEMENTS_FOLDER = "restatements"
RESTATEMENT_SCHEMA: dict[str, pl.DataType] = {
    "index": pl.String(),
    "date": pl.Date(),
    "published": pl.Float64(),
    "recomputed": pl.Float64(),
    "difference": pl.Float64(),
}
LEVEL_COLUMNS = ("date", "level", "daily_return")

Disruption = Literal["rules", "carry_forward", "error"]
"""The calculation's market-disruption policy (:func:`indexcalc.pipeline.rebuild_all`)."""

CalendarSource = Literal["exchange", "data"]
"""``exchange``: the union of the exchange business days of the roots in use (generated or
exchange-aligned data); ``data``: the dates on which a root in use has prices (imported vendor
data)."""


@dataclass(frozen=True)
class RunStamp:
    """When and as what a run publishes: ``run_time`` (UTC, read by the CLI) and ``run_id``."""

    run_time: dt.datetime
    run_id: str


# --- index calendar and required data ---------------------------------------------------------


def roots_in_use(spec: IndexSpecBase, market: MarketData, available: set[str] | None = None) -> list[str]:
    """The roots of ``spec`` that the market has prices for (sorted); ``available`` = the
    market's roots when already known."""
    available = set(market.roots) if available is None else available
    return sorted(set(spec.select_roots(market.instruments)) & available)


def index_calendar(
    market: MarketData,
    specs: Iterable[IndexSpecBase],
    start: dt.date,
    end: dt.date,
    source: CalendarSource = "exchange",
) -> pl.DataFrame:
    """``index_id, date``: the business days of each index from ``start`` to ``end`` inclusive.

    ``exchange``: the union of the business days (:func:`indexcalc.data.calendars.business_days`)
    of the exchanges of the index's roots in use; ``data``: the dates on which one of those roots
    has prices. Sorted by index, date.
    """
    available = set(market.roots)
    members = pl.DataFrame(
        [(spec.id, root) for spec in specs for root in roots_in_use(spec, market, available)],
        schema={"index_id": pl.String, "root": pl.String},
        orient="row",
    )
    roots = sorted(set(members.get_column("root").to_list()))
    if source == "exchange":
        codes = sorted({market.instruments[root].calendar for root in roots})
        code_days = {code: business_days(code, start, end) for code in codes}
        root_days = pl.concat(
            [
                pl.DataFrame({"root": root, "date": code_days[market.instruments[root].calendar]},
                             schema={"root": pl.String, "date": pl.Date})
                for root in roots
            ]
            or [pl.DataFrame(schema={"root": pl.String, "date": pl.Date})]
        )
    elif source == "data":
        root_days = (
            market.prices.filter(pl.col("date").is_between(start, end) & pl.col("root").is_in(roots))
            .select("root", "date")
            .unique()
        )
    else:
        raise StateError(f"unknown calendar source {source!r} (expected exchange or data)")
    return members.join(root_days, on="root").select("index_id", "date").unique().sort("index_id", "date")


def calendar_days(calendar: pl.DataFrame) -> list[dt.date]:
    """The sorted union of the dates of an :func:`index_calendar` frame."""
    return calendar.get_column("date").unique().sort().to_list()


def check_required_data(
    market: MarketData, specs: Iterable[IndexSpecBase], date: dt.date, through: dt.date | None = None
) -> None:
    """Raise a DataError if a root in use whose exchange is open on ``date`` has no
    settlement on ``date`` for a contract it held at its previous close (with the roll rule of
    each index that holds it; :func:`indexcalc.rolls.roll_schedule`); the error names root,
    contract and date.

    A root without any settlement on ``date`` that has *ended* as of ``through`` (default
    ``date``; the run's date when catching up) is not missing: its data stopped, its last price
    is carried as the rebuild carries it, and the run says so (:mod:`indexcalc.rules.ended`,
    :func:`ended_root_notices`). ``market`` may hold data up to ``through``; only the data up to
    ``date`` decides anything else.

    Cheap first pass: the roots with no settlement at all on ``date`` (zero and negative
    settlements are prices, docs/design.md section 2); only for those
    is the roll schedule computed (on :data:`HELD_CONTRACT_LOOKBACK_DAYS` of prices) to name
    the held contract. A root that is priced on ``date`` but not in its held contract is a
    market disruption, which the calculation itself reports (:func:`indexcalc.series.build_series`)
    with the same root, contract and date.
    """
    from indexcalc.rolls import roll_schedule

    available = set(market.roots)
    roots_by_rule: dict[str, tuple[object, set[str]]] = {}
    for spec in specs:
        rule = roll_rule_for(spec, market)
        entry = roots_by_rule.setdefault(rule.model_dump_json(), (rule, set()))
        entry[1].update(roots_in_use(spec, market, available))
    all_roots = sorted(set().union(*(roots for _, roots in roots_by_rule.values())))
    priced_roots = set(
        market.prices.filter((pl.col("date") == date) & pl.col("settle").is_not_null()).get_column("root").unique().to_list()
    )
    unpriced = {
        root
        for root in all_roots
        if root not in priced_roots and business_days(market.instruments[root].calendar, date, date).len() > 0
    }
    if unpriced:
        through = date if through is None else through
        last = last_priced_days(market.prices, unpriced, through)
        unpriced -= set(ended_roots(last, market.instruments, through).get_column("root"))
    if not unpriced:
        return
    first = date - dt.timedelta(days=HELD_CONTRACT_LOOKBACK_DAYS)
    in_window = pl.col("date").is_between(first, date) & pl.col("root").is_in(sorted(unpriced))
    window = replace(
        market,
        prices=market.prices.filter(in_window),
        held=None if market.held is None else market.held.filter(in_window),
    )
    without_history = sorted(unpriced - set(window.prices.get_column("root").unique().to_list()))
    if without_history:
        raise DataError(
            f"missing required data: no prices on {date} nor in the {HELD_CONTRACT_LOOKBACK_DAYS} days before",
            file=market.source or None,
            key=f"root {without_history[0]}, date {date}",
        )
    for rule, roots in roots_by_rule.values():
        selected = sorted(roots & unpriced)
        if not selected:
            continue
        schedule = roll_schedule(window, rule, selected).filter(pl.col("date") < date)
        held = schedule.filter(pl.col("date") == pl.col("date").max().over("root")).sort("root", "contract")
        root, contract = held.select("root", "contract").row(0)
        calendar = market.instruments[root].calendar
        raise DataError(
            f"missing required data: no settlement on {date} for the held contract "
            f"(the {calendar} exchange is open that day)",
            file=market.source or None,
            key=f"root {root}, contract {contract}, date {date}",
        )


def ended_root_notices(market: MarketData, specs: Iterable[IndexSpecBase], as_of: dt.date) -> list[str]:
    """One notice per root in use that has ended as of ``as_of`` (:mod:`indexcalc.rules.ended`),
    by root: what the rebuild and the daily run print, once per run."""
    available = set(market.roots)
    roots = {root for spec in specs for root in roots_in_use(spec, market, available)}
    # an ended root has no settlement on as_of: only those are looked at further
    priced = market.prices.filter((pl.col("date") == as_of) & pl.col("settle").is_not_null()).get_column("root").unique()
    roots -= set(priced.to_list())
    if not roots:
        return []
    ended = ended_roots(last_priced_days(market.prices, roots, as_of), market.instruments, as_of)
    return [ended_notice(root, last_date, gap) for root, last_date, gap in ended.iter_rows()]


# --- comparisons with the ledger (pure) ---------------------------------------------------------


def all_levels(results: dict[str, IndexResult]) -> pl.DataFrame:
    """``index_id, date, level, daily_return`` of every result."""
    frames = [
        result.levels.select(pl.lit(index_id).alias("index_id"), *LEVEL_COLUMNS)
        for index_id, result in results.items()
    ]
    schema = {"index_id": pl.String(), "date": pl.Date(), "level": pl.Float64(), "daily_return": pl.Float64()}
    return pl.concat(frames).cast(schema) if frames else pl.DataFrame(schema=schema)


def compare_with_ledger(results: dict[str, IndexResult], published: pl.DataFrame) -> pl.DataFrame:
    """The restatement frame: every published official level of an index in ``results`` that
    the recomputation would change, ``index, date, published, recomputed, difference``.

    ``published`` is a ledger view (:meth:`Ledger.current`). Official levels are compared
    (:mod:`indexcalc.official`: the recomputed level rounded to the spec's precision against
    the published ``official_level``, or the published level rounded when the view has none):
    a level moves when they differ (``difference`` = recomputed - published, index points) or
    when the recomputation has no level on a published date (``recomputed`` and ``difference``
    null). Sorted by index, date. Indexes not in ``results`` (no longer computed) are not
    compared.
    """
    return _compare_levels(all_levels(results), published, precisions=precisions_of(r.spec for r in results.values()))


def _compare_levels(
    levels: pl.DataFrame,
    published: pl.DataFrame,
    tolerance: float = LEVEL_TOLERANCE,
    precisions: dict[str, int] | None = None,
) -> pl.DataFrame:
    """:func:`compare_with_ledger` on recomputed levels ``index_id, date, level, ...``: official
    levels with ``precisions`` (by index id), otherwise full-precision levels within the
    relative ``tolerance`` (``|recomputed - published| > tolerance * |published|`` moves)."""
    recomputed_level, published_level = pl.col("level"), pl.col("level")
    if precisions is not None:
        recomputed_level = official_by_index(pl.col("level"), pl.col("index_id"), precisions)
        published_level = (
            pl.col("official_level") if "official_level" in published.columns
            else official_by_index(pl.col("level"), pl.col("index_id"), precisions)
        )
        tolerance = 0.0
    recomputed = levels.select("index_id", "date", recomputed_level.alias("recomputed"))
    compared = (
        published.filter(pl.col("index_id").is_in(levels.get_column("index_id").unique().to_list()))
        .select("index_id", "date", published_level.alias("published"))
        .join(recomputed, on=["index_id", "date"], how="left")
        .with_columns((pl.col("recomputed") - pl.col("published")).alias("difference"))
    )
    moved = pl.col("recomputed").is_null() | (pl.col("difference").abs() > tolerance * pl.col("published").abs())
    return (
        compared.filter(moved)
        .select(pl.col("index_id").alias("index"), "date", "published", "recomputed", "difference")
        .cast(RESTATEMENT_SCHEMA)
        .sort("index", "date")
    )


def unpublished_levels(
    results: dict[str, IndexResult], published: pl.DataFrame, through: dt.date | None = None
) -> pl.DataFrame:
    """``index_id, date, level, daily_return``: recomputed levels (up to ``through``) of dates
    the ledger view ``published`` has no level for."""
    return _unpublished(all_levels(results), published, through)


def _unpublished(levels: pl.DataFrame, published: pl.DataFrame, through: dt.date | None = None) -> pl.DataFrame:
    if through is not None:
        levels = levels.filter(pl.col("date") <= through)
    return levels.join(published.select("index_id", "date"), on=["index_id", "date"], how="anti").sort(
        "index_id", "date"
    )


def with_published_levels(results: dict[str, IndexResult], published: pl.DataFrame) -> dict[str, IndexResult]:
    """``results`` with each index's levels replaced by its published ones (a ledger view), so
    files and factsheets show exactly what the ledger holds: ``level`` is the official level
    (``official_level`` when the view has it) and ``calculated_level`` the full-precision one
    (what the contract holdings use); indexes without published levels keep their recomputed
    ones."""
    if "official_level" in published.columns:
        published = published.with_columns(
            pl.col("level").alias("calculated_level"), pl.col("official_level").alias("level")
        )
    else:
        published = published.with_columns(pl.col("level").alias("calculated_level"))
    by_index = {
        index_id: frame.select(*LEVEL_COLUMNS, "calculated_level")
        for (index_id,), frame in published.sort("index_id", "date").group_by("index_id", maintain_order=True)
    }
    return {
        index_id: replace(result, levels=by_index[index_id]) if index_id in by_index else result
        for index_id, result in results.items()
    }


def rows_for_ledger(
    levels: pl.DataFrame,
    specs: dict[str, IndexSpecBase],
    stamp: RunStamp,
    hash_value: str,
    reason: str | None = None,
    released: bool = True,
) -> pl.DataFrame:
    """Ledger rows from ``index_id, date, level, daily_return[, version]`` (version 1 when the
    column is absent), with each index's methodology version and official level (its precision)
    from its spec (``specs`` by id); ``released`` False for rows held for review."""
    if levels.is_empty():
        return pl.DataFrame(schema=LEDGER_SCHEMA)
    versions = {index_id: methodology_version(specs[index_id]) for index_id in levels.get_column("index_id").unique()}
    return ledger_rows(
        levels,
        pl.col("index_id"),
        version=pl.col("version") if "version" in levels.columns else 1,
        run_id=stamp.run_id,
        run_time=stamp.run_time,
        methodology_version=pl.col("index_id").replace_strict(versions, return_dtype=pl.String),
        input_hash_value=hash_value,
        reason=reason,
        official_level=official_by_index(pl.col("level"), pl.col("index_id"), precisions_of(specs.values())),
        released=released,
    )


def restated_levels(report: pl.DataFrame, results: dict[str, IndexResult], published: pl.DataFrame) -> pl.DataFrame:
    """``index_id, date, level, daily_return, version``: the recomputed levels of every row of a
    restatement ``report``, each with the next version of its published (index, date)."""
    if report.filter(pl.col("recomputed").is_null()).height:
        index, date = report.filter(pl.col("recomputed").is_null()).select("index", "date").row(0)
        raise StateError(
            "cannot restate: the recomputed history has no level on this published date",
            key=f"index {index}, date {date}",
        )
    return (
        report.select(pl.col("index").alias("index_id"), "date")
        .join(all_levels(results), on=["index_id", "date"], how="left")
        .join(published.select("index_id", "date", "version"), on=["index_id", "date"], how="left")
        .with_columns((pl.col("version") + 1).cast(pl.Int32).alias("version"))
        .sort("index_id", "date")
    )


# --- failures of the output side ------------------------------------------------------------------

NOTHING_CHANGED = "nothing was changed (ledger and published files as they were); run again once the cause is fixed"
NOTHING_PUBLISHED = (
    "nothing was published (no ledger part was committed, the files are as they were); run again once the cause "
    "is fixed"
)
FILES_NOT_REPLACED = (
    "the levels are committed to the ledger but the published files were not replaced; run the same command "
    "again once the cause is fixed (the same date again republishes them)"
)
RETIRED_ONLY = (
    "the retirement is recorded in the ledger but no level was committed and the files are as they were; "
    "run again (without --retire) once the cause is fixed"
)
STATE_NOT_WRITTEN = (
    "the levels are committed to the ledger (and published) but the stored day state was not written; the next "
    "run calculates in full and writes it"
)


def os_error_cause(error: OSError) -> str:
    """``error``'s cause as a short phrase: ``No space left on device (ENOSPC)``."""
    name = errno.errorcode.get(error.errno or -1)
    text = error.strerror or str(error) or type(error).__name__
    return f"{text} ({name})" if name else text


@contextmanager
def output_stage(path: Path | str, after: str) -> Iterator[None]:
    """Run one step of the output side (writing files, the ledger or the state): an
    ``OSError`` in it (disk full, read-only folder, permissions) becomes an
    :class:`OutputError` naming the path (the error's own, else ``path``), the cause and
    ``after``, the state the run leaves and how the next run recovers."""
    try:
        yield
    except OSError as error:
        raise OutputError(f"cannot write: {os_error_cause(error)}; {after}", file=str(error.filename or path)) from None


# --- publication with a commit point ------------------------------------------------------------


def publish_with_commit(
    results: dict[str, IndexResult],
    market: MarketData,
    out_dir: Path,
    commit: Callable[[], object],
    workers: int = 1,
    carry: Callable[[Path], object] | None = None,
    on_step: Callable[[str], None] | None = None,
) -> None:
    """Stage the whole publication of ``results`` beside ``out_dir``, call ``commit`` (the
    ledger append), then swap the staged entries into ``out_dir``
    (:func:`indexcalc.atomic.publish_directory`). If writing or ``commit`` fails, the
    staging folder is dropped and ``out_dir`` is untouched. An ``OSError`` is an
    :class:`OutputError` saying whether the ledger was committed (:func:`output_stage`).
    ``workers``: page-rendering processes (:func:`indexcalc.publish.write_publication`);
    ``carry(staging)``, called after the files of ``results`` are staged, adds what the
    publication carries over (the retired indexes' files,
    :func:`indexcalc.retirement.carry_retired_files`); ``on_step`` is called after each of the
    :func:`publication_steps` steps of writing."""
    from indexcalc.publish import publication_inputs, write_publication
    from indexcalc.atomic import publish_directory

    inputs = publication_inputs(results, market)
    committed = False
    try:
        with publish_directory(out_dir) as staging:
            write_publication(results, market, staging, inputs, workers=workers,
                              progress=None if on_step is None else _StepCounter(on_step))
            if carry is not None:
                carry(staging)
            with output_stage(out_dir / LEDGER_FOLDER, NOTHING_PUBLISHED):
                commit()
            committed = True
    except OSError as error:  # staging (before the commit) or the swap into out_dir (after it)
        cause = os_error_cause(error)
        after = FILES_NOT_REPLACED if committed else NOTHING_CHANGED
        raise OutputError(f"cannot write: {cause}; {after}", file=str(error.filename or out_dir)) from None


def retired_carry(
    out_dir: Path, retired: pl.DataFrame, published: pl.DataFrame, results: dict[str, IndexResult],
    specs: Iterable[IndexSpecBase],
) -> Callable[[Path], object] | None:
    """The ``carry`` of :func:`publish_with_commit` for the ``retired`` indexes (None without)."""
    retired = retired.filter(~pl.col("index_id").is_in(list(results)))  # computable again: published live
    if retired.is_empty():
        return None
    from indexcalc.retirement import carry_retired_files

    by_id = {spec.id: spec for spec in specs}
    return lambda staging: carry_retired_files(out_dir, staging, retired, published, results, by_id)


class _StepCounter:
    """``on_step`` as the ``progress`` of :func:`indexcalc.publish.write_publication`."""

    def __init__(self, on_step: Callable[[str], None]) -> None:
        self.on_step = on_step

    def advance(self, label: str = "", steps: int = 1) -> None:
        for _ in range(steps):
            self.on_step(label)


def publication_steps(index_count: int) -> int:
    """Steps :func:`publish_with_commit` reports: the data files, one page pair per index, the
    site index."""
    return index_count + 2


def rebuild_steps(specs: Iterable[IndexSpecBase], market: MarketData, publish: bool = True) -> int:
    """Steps :func:`rebuild` reports to ``on_step``: one series per roll rule in use, one per
    family group (:func:`indexcalc.pipeline.calculate`), then "publishing" and the
    :func:`publication_steps`."""
    from indexcalc.pipeline import OWN_CURVE_KINDS

    specs, _ = computable(list(specs), market)
    keys = {spec.id: rule_key(spec, market) for spec in specs}
    series = {keys[spec.id] for spec in specs if spec.kind not in OWN_CURVE_KINDS}
    groups = {(spec.kind, keys[spec.id]) for spec in specs}
    return len(series) + len(groups) + (1 + publication_steps(len(specs)) if publish else 0)


def remove_stale_staging(out_dir: Path) -> list[Path]:
    """Delete what killed publications left in and beside ``out_dir``: staging folders,
    versions never switched to or beyond the kept ones, temporary links
    (:func:`indexcalc.atomic.remove_unfinished`), and the ``.<name>.staging-*`` and
    ``.<name>.previous-*`` folders of releases before versioned publications; call only while
    holding the ledger lock."""
    from indexcalc.atomic import remove_unfinished

    out_dir = Path(out_dir)
    if not out_dir.parent.is_dir():
        return []
    stale = sorted(
        path
        for pattern in (f".{out_dir.name}.staging-*", f".{out_dir.name}.previous-*")
        for path in out_dir.parent.glob(pattern)
        if path.is_dir()
    )
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return stale + remove_unfinished(out_dir)


# --- the daily run ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunOutcome:
    """What :func:`run_daily` did: ``appended`` ledger rows per date run, ``republished``
    whether the publication was rewritten, ``skipped`` catalogue indexes the data cannot serve,
    ``already_published`` True when D had been published before (nothing appended)."""

    date: dt.date
    appended: dict[dt.date, int] = field(default_factory=dict)
    republished: bool = False
    already_published: bool = False
    skipped: list[Skipped] = field(default_factory=list)
    full_days: list[dt.date] = field(default_factory=list)
    """The dates run calculated in full (the others were continued from the stored state)."""
    notices: list[str] = field(default_factory=list)
    """Roots in use whose data has ended as of the run's date (:func:`ended_root_notices`)."""
    held: bool = False
    """The date was appended held for review (``released`` False) and not published."""


def refuse_date_before_data(market: MarketData, date: dt.date) -> None:
    """A run date before the market's first date is a DataError saying where the data starts
    (rather than "not a business day")."""
    first = market.prices.get_column("date").min()
    if first is not None and date < first:
        raise DataError(f"before the data starts (on {first})", file=market.source or None, key=f"date {date}")


def run_daily(
    market: MarketData,
    specs: Iterable[IndexSpecBase],
    date: dt.date,
    out_dir: Path | str,
    stamp: RunStamp,
    *,
    catch_up: bool = False,
    calendar_source: CalendarSource = "exchange",
    publish: bool = True,
    workers: int = 1,
    disruption: Disruption = "rules",
    on_step: Callable[[str], None] | None = None,
    hold: Callable[[pl.DataFrame, "DayPlan"], bool] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> RunOutcome:
    """Compute and publish ``date``'s levels of every catalogue index (module docstring).

    ``hold`` (the review step of :mod:`indexcalc.release`): called with the ledger view after
    ``date``'s rows and the day's plan; when it returns True the rows are appended with
    ``released`` False and nothing is published (``indexcalc release`` publishes them).

    Refuses (StateError) with no published state, with unpublished business days between the
    last published date and ``date`` (unless ``catch_up``), before the last published date when
    ``date`` was never published, or when the recomputed history differs from the ledger; a
    date that is not a business day of the index calendar or lacks required data is a DataError.
    ``publish`` False appends to the ledger only (the files are rewritten by the next
    publishing run or rebuild); ``disruption`` is the calculation's market-disruption policy
    (:func:`indexcalc.pipeline.rebuild_all`; use the same as for the rebuild). ``on_total``
    receives the number of ``on_step`` calls once the days to run are known.
    """
    from indexcalc.retirement import check_retirements, lost_indexes

    out_dir = Path(out_dir)
    ledger = Ledger(out_dir / LEDGER_FOLDER)
    check_within_data(market, date)
    refuse_date_before_data(market, date)
    run_market = market.up_to(date)
    catalogue = list(specs)
    specs, skipped = computable(catalogue, run_market)
    with output_lock(out_dir):
        with output_stage(out_dir, NOTHING_CHANGED):
            remove_stale_staging(out_dir)
            ledger.remove_temporaries()
        published = ledger.current()
        if published.is_empty():
            raise StateError(
                "nothing is published yet: run `indexcalc rebuild` first to create the initial publication",
                file=str(ledger.directory),
            )
        retired = ledger.retirements()
        check_retirements(lost_indexes(published, skipped, retired), (), {spec.id for spec in specs}, retired)
        last = published.get_column("date").max()
        calendar = index_calendar(market, specs, min(date, last), max(date, last), calendar_source)
        days = calendar_days(calendar)
        if date not in days:
            raise DataError(
                f"not a business day of the index calendar ({calendar_source} calendar of the roots in use)",
                file=market.source or None,
                key=f"date {date}",
            )
        if date < last:
            if published.filter(pl.col("date") == date).height:
                return RunOutcome(date, already_published=True, skipped=skipped)
            raise StateError(
                f"{date} is before the last published date {last} and was never published; "
                "history is changed only by `indexcalc rebuild`",
                file=str(ledger.directory),
            )
        check_nothing_held(published, str(ledger.directory))
        missing_days = [day for day in days if last < day < date]
        if missing_days and not catch_up:
            span = str(missing_days[0]) if len(missing_days) == 1 else f"{missing_days[0]} to {missing_days[-1]}"
            raise StateError(
                f"{len(missing_days)} business day(s) between the last published date {last} and {date} are not "
                f"published ({span}); run them first or use --catch-up",
                file=str(ledger.directory),
            )
        if on_total:  # a step per day, then "publishing" and the publication's steps
            on_total(len(missing_days) + 1 + (1 + publication_steps(len(specs)) if publish else 0))
        appended: dict[dt.date, int] = {}
        full_days: list[dt.date] = []
        stored = state_path(out_dir)
        state = read_state(stored)
        for day in missing_days:
            if on_step:
                on_step(f"catching up {day}")
            plan = plan_day(market, specs, day, published, day_stamp(stamp, day), disruption, state, through=date)
            caught_up = f"the days before {day} are committed to the ledger"
            with output_stage(ledger.directory, f"catching up stopped at {day}: {caught_up}, {day} is not; run again "
                                                "once the cause is fixed (it continues from there)"):
                ledger.append(plan.rows, stamp.run_time, plan.stamp.run_id)
            with output_stage(stored, f"{day} is committed to the ledger but the stored day state was not written; "
                                      "run again once the cause is fixed (it calculates in full from there)"):
                write_state(stored, plan.state)
            appended[day], state = plan.rows.height, plan.state
            if plan.full_reason is not None:
                full_days.append(day)
            published = _updated(published, plan.rows)
        if on_step:
            on_step(f"computing {date}")
        plan = plan_day(run_market, specs, date, published, day_stamp(stamp, date), disruption, state)
        if plan.full_reason is not None:
            full_days.append(date)
        held = hold is not None and not plan.rows.is_empty() and hold(_updated(published, plan.rows), plan)
        if held:
            plan = replace(plan, rows=plan.rows.with_columns(pl.lit(False).alias("released")))
        with caught_up_first(list(appended)):
            commit = lambda: ledger.append(plan.rows, stamp.run_time, plan.stamp.run_id)  # noqa: E731
            if publish and not held:
                results = complete_results(plan, specs, disruption)
                if on_step:
                    on_step("publishing")
                published_after = _updated(published, plan.rows)
                shown = with_published_levels(results, published_after)
                carry = retired_carry(out_dir, retired, published_after, shown, catalogue)
                publish_with_commit(shown, plan.market, out_dir, commit, workers, carry, on_step)
            else:
                with output_stage(ledger.directory, NOTHING_PUBLISHED):
                    commit()
            if not (plan.rows.is_empty() and state is not None and state.as_of == date):
                with output_stage(stored, STATE_NOT_WRITTEN):
                    write_state(stored, plan.state)  # (a date run again keeps the state it left)
        appended[date] = plan.rows.height
    return RunOutcome(
        date, appended=appended, republished=publish and not held, already_published=date == last,
        skipped=skipped, full_days=full_days, notices=ended_root_notices(run_market, specs, date), held=held,
    )


@contextmanager
def caught_up_first(days: list[dt.date]) -> Iterator[None]:
    """An :class:`OutputError` inside (the run's own date failing to be written) says that the
    days caught up before it, if any, are committed to the ledger already."""
    try:
        yield
    except OutputError as error:
        if not days:
            raise
        span = str(days[0]) if len(days) == 1 else f"{days[0]} to {days[-1]}"
        raise OutputError(
            f"{error.problem} (the day(s) caught up before it, {span}, are committed to the ledger)",
            file=error.file,
            key=error.key,
        ) from None


def data_end(market: MarketData) -> dt.date | None:
    """The last date with a settlement in the market (None for an empty market)."""
    return market.prices.get_column("date").max() if market.prices.height else None


def check_within_data(market: MarketData, date: dt.date) -> None:
    """A DataError naming the data's last date when ``date`` is after it (a run cannot compute
    a day the data does not reach)."""
    end = data_end(market)
    if end is None or date > end:
        raise DataError(
            f"{date} is after the end of the data: the data ends on {end} (run without --date to compute "
            "every unpublished session up to it)",
            file=market.source or None,
        )


def last_session(market: MarketData, specs: Iterable[IndexSpecBase], calendar_source: CalendarSource) -> dt.date:
    """The last business day of the index calendar on or before the data's last date: what
    ``indexcalc run`` without a date runs up to (catching up every unpublished day before it)."""
    end = data_end(market)
    if end is None:
        raise DataError("the market data has no prices", file=market.source or None)
    specs, _ = computable(list(specs), market)
    days = calendar_days(index_calendar(market, specs, end - dt.timedelta(days=31), end, calendar_source))
    if not days:
        raise DataError(f"no business day of the index calendar in the month before the data's end ({end})",
                        file=market.source or None)
    return days[-1]


def published_already(out_dir: Path | str, date: dt.date, publish: bool) -> bool:
    """Whether a run for ``date`` has nothing to do, judged from the ledger alone (before the
    market is loaded): ``date`` is published and either earlier than the last published date
    (never republished) or ``publish`` is False (a publishing run of the last date republishes
    it, which repairs an interrupted publication)."""
    ledger = Ledger(Path(out_dir) / LEDGER_FOLDER)
    if not ledger.exists():
        return False
    dates = ledger.read_all().get_column("date")
    return bool((dates == date).any()) and (date < dates.max() or not publish)


def day_stamp(stamp: RunStamp, date: dt.date) -> RunStamp:
    """The stamp of one day of a run: the run id suffixed with the date (one ledger part each)."""
    return RunStamp(stamp.run_time, f"{stamp.run_id}-{date:%Y%m%d}")


@dataclass(frozen=True)
class DayPlan:
    """One computed day: the market it used, the results, the ledger rows to append, and the
    state after it. ``results`` are complete (every spec, whole history) only when the day was
    calculated in full (``continued`` is None); a continued day has the results of the specs
    computed in full every day and ``continued`` holds why the state could be used."""

    date: dt.date
    market: MarketData
    results: dict[str, IndexResult]
    rows: pl.DataFrame
    stamp: RunStamp
    state: DayState | None = None
    full_reason: str | None = None
    """Why the day was calculated in full (None when the stored state continued it)."""


# --- the stored state -----------------------------------------------------------------------------


def state_path(out_dir: Path | str) -> Path:
    """Where the daily run keeps its state (:data:`STATE_FILE` in the ledger folder)."""
    return Path(out_dir) / LEDGER_FOLDER / STATE_FILE


def read_state(path: Path) -> DayState | None:
    """The stored state at ``path``; None when there is none or it cannot be read (the state is
    a cache of the ledger and the data: without it the run calculates in full)."""
    try:
        return DayState.model_validate_json(path.read_bytes())
    except (OSError, ValueError):
        return None


def write_state(path: Path, state: DayState | None) -> None:
    """Write the state atomically (remove it when ``state`` is None)."""
    from indexcalc.atomic import atomic_write_bytes

    if state is None:
        path.unlink(missing_ok=True)
        return
    atomic_write_bytes(path, state.model_dump_json().encode())


def state_problem(
    state: DayState | None,
    published: pl.DataFrame,
    specs: list[IndexSpecBase],
    market: MarketData,
    disruption: Disruption,
    data_hash: str | None = None,
) -> str | None:
    """Why ``state`` cannot continue the published state on ``market`` (None when it can): it
    must be as of the last published date, hold for each index its last published date and
    level exactly, have been computed with the same specs, roll rules, disruption policy,
    instruments and package version, and on the same data up to its date: ``data_hash`` is the
    :func:`indexcalc.ledger.input_hash` of ``market.up_to(state.as_of)`` (computed here when None)."""
    if state is None:
        return "no stored state"
    if state.as_of != published.get_column("date").max():
        return f"the stored state is as of {state.as_of}, not the last published date"
    if state.disruption != disruption:
        return "the stored state was computed with another disruption policy"
    if state.reference != reference_fingerprint(market):
        return "the instruments or the indexcalc version changed since the stored state"
    for spec in specs:
        index = state.indexes.get(spec.id)
        if index is not None and (index.methodology != methodology_version(spec) or index.rule != rule_key(spec, market)):
            return f"the spec or roll rule of {spec.id} changed since the stored state"
    last = published.group_by("index_id").agg(pl.col("date").last(), pl.col("level").last())
    stored = pl.DataFrame(
        [(index_id, index.last_date, index.last_level) for index_id, index in state.indexes.items()],
        schema={"index_id": pl.String(), "state_date": pl.Date(), "state_level": pl.Float64()},
        orient="row",
    )
    moved = stored.join(last, on="index_id", how="left").filter(
        (pl.col("date") != pl.col("state_date")).fill_null(True) | (pl.col("level") != pl.col("state_level")).fill_null(True)
    )
    if moved.height:
        return f"the stored state of {moved.item(0, 'index_id')} is not its last published level"
    if (data_hash or input_hash(market.up_to(state.as_of))) != state.input_hash:
        return f"the data up to {state.as_of} changed since the stored state"
    return None


def plan_day(
    market: MarketData,
    specs: list[IndexSpecBase],
    date: dt.date,
    published: pl.DataFrame,
    stamp: RunStamp,
    disruption: Disruption = "rules",
    state: DayState | None = None,
    through: dt.date | None = None,
) -> DayPlan:
    """Compute ``date`` from the data up to it and check it against the published state
    (pure: reads and writes nothing).

    Steps: required data (:func:`check_required_data`); then either the stored ``state``
    continues the composite indexes to ``date`` (:func:`indexcalc.daystate.continue_day`, when
    :func:`state_problem` finds nothing and the state can continue) and the specs without state
    (the copper strategy) are calculated in full, or every spec is (``rebuild_all`` on
    ``market.up_to(date)``). What is calculated in full must reproduce every published level
    (:func:`compare_with_ledger`) and its unpublished levels must all be on ``date`` (an
    earlier one is a gap); every index must be published already. Rows are version 1, hashed
    over the data up to ``date``. ``through``: the run's date when ``date`` is caught up on the
    way to it (a root that has ended by then is not missing data on ``date``).
    """
    unknown = sorted({spec.id for spec in specs} - set(published.get_column("index_id").unique().to_list()))
    if unknown:
        raise StateError(
            "no published history for this index: run `indexcalc rebuild` to publish it",
            key=f"index {unknown[0]}",
        )
    day_market = market.up_to(date)
    if through is None or through <= date:
        check_required_data(day_market, specs, date)
    else:
        check_required_data(market.up_to(through), specs, date, through)
    # the data up to the state's date (for its check) and up to D (for the rows), in one pass
    *hash_as_of, hash_value = input_hashes(day_market, [date] if state is None else [state.as_of, date])
    reason = state_problem(state, published, specs, day_market, disruption, *hash_as_of)
    continued_levels: pl.DataFrame | None = None
    full_specs = specs
    if reason is None:
        try:
            continued, full_specs = continued_specs(state, specs)
            continued_levels, next_state = continue_day(state, day_market, continued, date)
        except Discontinued as problem:
            reason, full_specs = str(problem), specs
    calculation = calculate(day_market, full_specs, disruption=disruption)
    levels = all_levels(calculation.results)
    report = _compare_levels(levels, published, precisions=precisions_of(full_specs))
    if report.height:
        first = report.row(0, named=True)
        raise StateError(
            f"the recomputed history differs from the published levels at {report.height} index date(s) "
            f"(first: {first['index']} on {first['date']}: published {first['published']!r}, recomputed "
            f"{first['recomputed']!r}); run `indexcalc rebuild` for the restatement report",
            key=f"date {date}",
        )
    new = _unpublished(levels, published, through=date)
    early = new.filter(pl.col("date") < date)
    if early.height:
        index_id, gap = early.select("index_id", "date").row(0)
        raise StateError(
            f"unpublished level before {date}: run that date first (or `indexcalc rebuild`)",
            key=f"index {index_id}, date {gap}",
        )
    if continued_levels is None:
        next_state = state_from_calculation(calculation, specs, day_market, date, hash_value, disruption)
    else:
        new = pl.concat([new, continued_levels.cast(new.schema)]).sort("index_id", "date")
        next_state = next_state.model_copy(update={"input_hash": hash_value})
    rows = rows_for_ledger(new, {spec.id: spec for spec in specs}, stamp, hash_value)
    return DayPlan(date, day_market, calculation.results, rows, stamp, next_state, reason)


def complete_results(plan: DayPlan, specs: list[IndexSpecBase], disruption: Disruption) -> dict[str, IndexResult]:
    """Every spec's results on the plan's data (for the publication): the plan's own when it
    was calculated in full, otherwise a full calculation whose levels on the plan's date must
    equal the continued ones (:data:`LEVEL_TOLERANCE`; a StateError otherwise)."""
    if plan.full_reason is not None:
        return plan.results
    results = rebuild_all(plan.market, specs, disruption=disruption)
    full = all_levels(results)
    # the plan's rows as published levels: each must be reproduced, and no level of the day missing
    differing = _compare_levels(full, plan.rows, LEVEL_TOLERANCE)
    missing = _unpublished(full.filter(pl.col("date") == plan.date), plan.rows)
    if differing.height or missing.height:
        index_id, continued, level = (
            differing.select("index", "published", "recomputed").row(0) if differing.height
            else (missing.item(0, "index_id"), None, missing.item(0, "level"))
        )
        raise StateError(
            f"the level continued from the stored state ({continued!r}) differs from the full "
            f"calculation ({level!r}); nothing was published (delete {STATE_FILE} and run again)",
            key=f"index {index_id}, date {plan.date}",
        )
    return results


def _updated(published: pl.DataFrame, rows: pl.DataFrame) -> pl.DataFrame:
    """The ledger view after appending ``rows``."""
    if rows.is_empty():
        return published
    return current_view(pl.concat([published, rows.select(published.columns)], how="vertical"))


# --- rebuild and restatement --------------------------------------------------------------------


@dataclass(frozen=True)
class RebuildOutcome:
    """What :func:`rebuild` did: rows ``appended`` (new dates), ``restated`` levels, the
    restatement ``report`` frame and its path (when levels would move), ``skipped`` indexes."""

    appended: int = 0
    restated: int = 0
    report: pl.DataFrame | None = None
    report_path: Path | None = None
    initial: bool = False
    skipped: list[Skipped] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    """Roots in use whose data has ended by the market's last date (:func:`ended_root_notices`)."""
    retired: pl.DataFrame | None = None
    """The retirement records this rebuild appended (None when it retired nothing)."""


class RestatementRequired(StateError):
    """The rebuild would move published levels and no restatement was asked for."""

    def __init__(self, problem: str, *, outcome: RebuildOutcome, file: str | None = None) -> None:
        self.outcome = outcome
        super().__init__(problem, file=file)


def rebuild(
    market: MarketData,
    specs: Iterable[IndexSpecBase],
    out_dir: Path | str,
    stamp: RunStamp,
    *,
    restate_reason: str | None = None,
    retire: Iterable[str] = (),
    retire_reason: str | None = None,
    publish: bool = True,
    workers: int = 1,
    disruption: Disruption = "rules",
    on_step: Callable[[str], None] | None = None,
) -> RebuildOutcome:
    """Recompute every computable spec over the whole market and publish it (module docstring).

    Raises :class:`RestatementRequired` (a StateError) after writing the restatement report
    when published levels would move and ``restate_reason`` is None; nothing else changes.
    A published index that can no longer be computed is a StateError, changing nothing,
    unless its id is in ``retire``: it is then retired with ``retire_reason``
    (:mod:`indexcalc.retirement`), and its files stay published. ``publish`` False updates
    the ledger only.
    """
    from indexcalc.retirement import check_retirements, lost_indexes, retirement_records

    out_dir = Path(out_dir)
    ledger = Ledger(out_dir / LEDGER_FOLDER)
    catalogue = list(specs)
    specs, skipped = computable(catalogue, market)
    retire = tuple(retire)
    if not specs:
        raise StateError("no catalogue index can be computed on this market data", file=market.source or None)
    if restate_reason is not None and not restate_reason.strip():
        raise StateError("a restatement needs a non-empty reason")
    if retire and not (retire_reason and retire_reason.strip()):
        raise StateError("a retirement needs a non-empty reason")
    with output_lock(out_dir):
        with output_stage(out_dir, NOTHING_CHANGED):
            remove_stale_staging(out_dir)
            ledger.remove_temporaries()
        published = ledger.current()
        retired = ledger.retirements()
        to_retire = check_retirements(
            lost_indexes(published, skipped, retired), retire, {spec.id for spec in specs}, retired
        )
        new_retirements = retirement_records(to_retire, retire_reason or "", published, stamp.run_time, stamp.run_id)
        retired = pl.concat([retired, new_retirements]).sort("index_id")
        calculation = calculate(market, specs, on_step=on_step, disruption=disruption)
        results = calculation.results
        check_nothing_held(published, str(ledger.directory))
        hash_value = input_hash(market)
        report = compare_with_ledger(results, published)
        report_path = None
        if report.height:
            from indexcalc.atomic import atomic_write_csv

            report_path = out_dir / RESTATEMENTS_FOLDER / f"{stamp.run_time.astimezone(dt.timezone.utc):%Y-%m-%d}.csv"
            with output_stage(report_path, NOTHING_CHANGED):
                atomic_write_csv(report_path, report)
            if restate_reason is None:
                outcome = RebuildOutcome(report=report, report_path=report_path, skipped=skipped)
                raise RestatementRequired(
                    f"the rebuild would move {report.height} published level(s) of "
                    f"{report.get_column('index').n_unique()} index(es); nothing was changed; the report is "
                    f"{report_path} (use --restate --reason TEXT to publish the corrections)",
                    outcome=outcome,
                    file=str(ledger.directory),
                )
        restated = restated_levels(report, results, published) if report.height else None
        new = unpublished_levels(results, published)
        by_id = {spec.id: spec for spec in specs}
        parts = [rows_for_ledger(new, by_id, stamp, hash_value)]
        if restated is not None:
            parts.append(rows_for_ledger(restated, by_id, stamp, hash_value, reason=restate_reason))
        rows = pl.concat(parts, how="vertical")
        published_after = _updated(published, rows)
        state = rebuilt_state(calculation, specs, market, published_after, hash_value, disruption)

        def commit() -> None:  # the retirement records first: without the levels they are still true
            with output_stage(ledger.directory, NOTHING_PUBLISHED):
                ledger.retire(new_retirements, stamp.run_time, stamp.run_id)
            with output_stage(ledger.directory, RETIRED_ONLY if new_retirements.height else NOTHING_PUBLISHED):
                ledger.append(rows, stamp.run_time, stamp.run_id)

        if publish:
            if on_step:
                on_step("publishing")
            shown = with_published_levels(results, published_after)
            carry = retired_carry(out_dir, retired, published_after, shown, catalogue)
            publish_with_commit(shown, market, out_dir, commit, workers, carry, on_step)
        else:
            with output_stage(ledger.directory, NOTHING_PUBLISHED):
                commit()
        with output_stage(state_path(out_dir), STATE_NOT_WRITTEN):
            write_state(state_path(out_dir), state)
    return RebuildOutcome(
        appended=new.height,
        restated=0 if restated is None else restated.height,
        report=report if report.height else None,
        report_path=report_path,
        initial=published.is_empty(),
        skipped=skipped,
        notices=ended_root_notices(market, specs, market.prices.get_column("date").max()),
        retired=new_retirements if new_retirements.height else None,
    )


def rebuilt_state(
    calculation: Calculation,
    specs: list[IndexSpecBase],
    market: MarketData,
    published: pl.DataFrame,
    hash_value: str,
    disruption: Disruption,
) -> DayState | None:
    """The stored state after a rebuild: as of the last published date, when every index's
    recomputed last level is the published one (a rebuild that leaves moved levels unrestated
    cannot refuse here, so it leaves no state and the next daily run calculates in full).
    ``hash_value`` is the input hash of ``market``, used when the market ends on that date."""
    as_of = published.get_column("date").max()
    if market.prices.get_column("date").max() != as_of or any(
        frame.height and frame.get_column("date").max() > as_of for frame in (market.rates, market.inflation, market.macro)
    ):
        market = market.up_to(as_of)
        hash_value = input_hash(market)
    state = state_from_calculation(calculation, specs, market, as_of, hash_value, disruption)
    return None if state_problem(state, published, specs, market, disruption, hash_value) else state


# --- history ------------------------------------------------------------------------------------


def published_history(ledger_dir: Path | str, index_id: str, as_of: dt.datetime | None = None) -> pl.DataFrame:
    """``date, level, version, run_time, calculated_level``: the official levels of
    ``index_id`` as published at ``as_of`` (None: now; naive = UTC) and the full-precision
    levels the calculation continues from. An index with nothing published by then is a
    StateError."""
    ledger = Ledger(ledger_dir)
    if not ledger.exists():
        raise StateError("no ledger here (nothing published yet)", file=str(ledger.directory))
    view = ledger.current(as_of).filter(pl.col("index_id") == index_id)
    if view.is_empty():
        when = f" at {as_of.isoformat()}" if as_of is not None else ""
        raise StateError(f"nothing published for this index{when}", file=str(ledger.directory), key=f"index {index_id}")
    return view.select("date", pl.col("official_level").alias("level"), "version", "run_time",
                       pl.col("level").alias("calculated_level"))
