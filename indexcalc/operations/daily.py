"""The daily run for a date, with catch-up (docs/design.md section 7; :mod:`indexcalc.operations`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import polars as pl

from indexcalc.data.market import MarketData
from indexcalc.daystate import DayState, Discontinued, continue_day, continued_specs, state_from_calculation
from indexcalc.errors import DataError, StateError
from indexcalc.ledger import Ledger, input_hashes, output_lock
from indexcalc.official import precisions_of
from indexcalc.operations.calendar import (
    calendar_days, check_required_data, check_within_data, ended_root_notices, index_calendar, refuse_date_before_data,
)
from indexcalc.operations.options import Disruption, RunOptions, RunStamp, day_stamp, with_keywords
from indexcalc.operations.publishing import (
    NOTHING_CHANGED, NOTHING_PUBLISHED, STATE_NOT_WRITTEN, caught_up_first, output_stage, publication_steps,
    publish_with_commit, remove_stale_staging, retired_carry,
)
from indexcalc.operations.reconcile import (
    LEVEL_TOLERANCE, compare_levels, levels_not_published, view_after, all_levels, rows_for_ledger, with_published_levels,
)
from indexcalc.operations.state import LEDGER_FOLDER, STATE_FILE, read_state, state_path, state_problem, write_state
from indexcalc.pipeline import Skipped, calculate, computable, rebuild_all
from indexcalc.release import check_nothing_held
from indexcalc.results import IndexResult
from indexcalc.specs import IndexSpecBase

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



def run_daily(
    market: MarketData,
    specs: Iterable[IndexSpecBase],
    date: dt.date,
    out_dir: Path | str,
    stamp: RunStamp,
    options: RunOptions = RunOptions(),
    **keywords: Any,
) -> RunOutcome:
    """Compute and publish ``date``'s levels of every catalogue index (module docstring).

    ``options`` (:class:`RunOptions`; its fields may also be given as keywords, which replace
    them): catch-up, calendar source, publication, workers, disruption policy, progress, and
    ``hold`` (the review step of :mod:`indexcalc.release`): called with the ledger view after
    ``date``'s rows and the day's plan; when it returns True the rows are appended with
    ``released`` False and nothing is published (``indexcalc release`` publishes them).

    Refuses (StateError) with no published state, with unpublished business days between the
    last published date and ``date`` (unless ``catch_up``), before the last published date when
    ``date`` was never published, or when the recomputed history differs from the ledger; a
    date that is not a business day of the index calendar or lacks required data is a DataError.
    """
    options = with_keywords(options, keywords)
    out_dir = Path(out_dir)
    ledger = Ledger(out_dir / LEDGER_FOLDER)
    check_within_data(market, date)
    refuse_date_before_data(market, date)
    run_market = market.up_to(date)
    catalogue = list(specs)
    specs, skipped = computable(catalogue, run_market)
    with output_lock(out_dir):
        published, retired = open_published_state(out_dir, ledger, specs, skipped)
        last = published.get_column("date").max()
        missing_days = days_to_run(market, specs, date, published, str(ledger.directory), options)
        if missing_days is None:
            return RunOutcome(date, already_published=True, skipped=skipped)
        if options.on_total:  # a step per day, then "publishing" and the publication's steps
            options.on_total(len(missing_days) + 1 + (1 + publication_steps(len(specs)) if options.publish else 0))
        stored = state_path(out_dir)
        caught = catch_up_days(market, specs, missing_days, date, published, ledger, stamp, options, read_state(stored))
        published, state = caught.published, caught.state
        options.step(f"computing {date}")
        plan = plan_day(run_market, specs, date, published, day_stamp(stamp, date), options.disruption, state)
        plan, held = held_for_review(plan, published, options.hold)
        with caught_up_first(list(caught.appended)):
            commit = lambda: ledger.append(plan.rows, stamp.run_time, plan.stamp.run_id)  # noqa: E731
            if options.publish and not held:
                publish_day(plan, specs, catalogue, published, retired, out_dir, commit, options)
            else:
                with output_stage(ledger.directory, NOTHING_PUBLISHED):
                    commit()
            if not (plan.rows.is_empty() and state is not None and state.as_of == date):
                with output_stage(stored, STATE_NOT_WRITTEN):
                    write_state(stored, plan.state)  # (a date run again keeps the state it left)
    full_days = caught.full_days + ([date] if plan.full_reason is not None else [])
    return RunOutcome(
        date, appended={**caught.appended, date: plan.rows.height}, republished=options.publish and not held,
        already_published=date == last, skipped=skipped, full_days=full_days,
        notices=ended_root_notices(run_market, specs, date), held=held,
    )


def open_published_state(
    out_dir: Path, ledger: Ledger, specs: list[IndexSpecBase], skipped: list[Skipped]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The ledger view and the retirement records a daily run starts from, after removing
    what killed runs left (call holding the lock). Nothing published yet, or a published index
    the data can no longer compute and not retired, is a StateError."""
    from indexcalc.retirement import check_retirements, lost_indexes

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
    return published, retired


def days_to_run(
    market: MarketData, specs: list[IndexSpecBase], date: dt.date, published: pl.DataFrame, ledger_dir: str,
    options: RunOptions,
) -> list[dt.date] | None:
    """The unpublished business days before ``date`` to catch up first (None: ``date`` was
    published before the last published date, nothing to do). ``date`` must be a business day
    of the index calendar (DataError); a date before the last published one never published,
    a held day, or days to catch up without ``catch_up`` are a StateError."""
    last = published.get_column("date").max()
    calendar = index_calendar(market, specs, min(date, last), max(date, last), options.calendar_source)
    days = calendar_days(calendar)
    if date not in days:
        raise DataError(
            f"not a business day of the index calendar ({options.calendar_source} calendar of the roots in use)",
            file=market.source or None,
            key=f"date {date}",
        )
    if date < last:
        if published.filter(pl.col("date") == date).height:
            return None
        raise StateError(
            f"{date} is before the last published date {last} and was never published; "
            "history is changed only by `indexcalc rebuild`",
            file=ledger_dir,
        )
    check_nothing_held(published, ledger_dir)
    missing_days = [day for day in days if last < day < date]
    if missing_days and not options.catch_up:
        span = str(missing_days[0]) if len(missing_days) == 1 else f"{missing_days[0]} to {missing_days[-1]}"
        raise StateError(
            f"{len(missing_days)} business day(s) between the last published date {last} and {date} are not "
            f"published ({span}); run them first or use --catch-up",
            file=ledger_dir,
        )
    return missing_days


@dataclass(frozen=True)
class CaughtUp:
    """What :func:`catch_up_days` committed: rows ``appended`` per day, the days calculated in
    full, the ledger view and the stored state after them."""

    published: pl.DataFrame
    state: DayState | None
    appended: dict[dt.date, int] = field(default_factory=dict)
    full_days: list[dt.date] = field(default_factory=list)


def catch_up_days(
    market: MarketData, specs: list[IndexSpecBase], days: list[dt.date], date: dt.date, published: pl.DataFrame,
    ledger: Ledger, stamp: RunStamp, options: RunOptions, state: DayState | None,
) -> CaughtUp:
    """Run each of ``days`` (before the run's ``date``) in order, appending its rows to the
    ledger and storing the state after it: a sequential loop, each day continues from the
    previous one's state and ledger view."""
    stored = ledger.directory / STATE_FILE  # state_path(out_dir)
    appended: dict[dt.date, int] = {}
    full_days: list[dt.date] = []
    for day in days:
        options.step(f"catching up {day}")
        plan = plan_day(market, specs, day, published, day_stamp(stamp, day), options.disruption, state, through=date)
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
        published = view_after(published, plan.rows)
    return CaughtUp(published, state, appended, full_days)


def held_for_review(
    plan: DayPlan, published: pl.DataFrame, hold: Callable[[pl.DataFrame, DayPlan], bool] | None
) -> tuple[DayPlan, bool]:
    """The plan with its rows marked ``released`` False when ``hold`` holds them, and whether it did."""
    held = hold is not None and not plan.rows.is_empty() and hold(view_after(published, plan.rows), plan)
    if held:
        plan = replace(plan, rows=plan.rows.with_columns(pl.lit(False).alias("released")))
    return plan, held


def publish_day(
    plan: DayPlan, specs: list[IndexSpecBase], catalogue: list[IndexSpecBase], published: pl.DataFrame,
    retired: pl.DataFrame, out_dir: Path, commit: Callable[[], object], options: RunOptions,
) -> None:
    """Publish the day of ``plan`` with ``commit`` (the ledger append) as the commit point
    (:func:`publish_with_commit`): the files show the published levels after it and a full
    calculation's weights and tables (:func:`complete_results`)."""
    results = complete_results(plan, specs, options.disruption)
    options.step("publishing")
    published_after = view_after(published, plan.rows)
    shown = with_published_levels(results, published_after)
    carry = retired_carry(out_dir, retired, published_after, shown, catalogue)
    publish_with_commit(shown, plan.market, out_dir, commit, options.workers, carry, options.on_step)


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
    report = compare_levels(levels, published, precisions=precisions_of(full_specs))
    if report.height:
        first = report.row(0, named=True)
        raise StateError(
            f"the recomputed history differs from the published levels at {report.height} index date(s) "
            f"(first: {first['index']} on {first['date']}: published {first['published']!r}, recomputed "
            f"{first['recomputed']!r}); run `indexcalc rebuild` for the restatement report",
            key=f"date {date}",
        )
    new = levels_not_published(levels, published, through=date)
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
    differing = compare_levels(full, plan.rows, LEVEL_TOLERANCE)
    missing = levels_not_published(full.filter(pl.col("date") == plan.date), plan.rows)
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
