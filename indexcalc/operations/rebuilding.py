"""The rebuild against the ledger and its restatements (docs/design.md section 7;
:mod:`indexcalc.operations`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from indexcalc.data.market import MarketData
from indexcalc.daystate import DayState, state_from_calculation
from indexcalc.errors import StateError
from indexcalc.ledger import Ledger, input_hash, output_lock
from indexcalc.operations.calendar import ended_root_notices
from indexcalc.operations.options import Disruption, RebuildOptions, RunStamp, with_keywords
from indexcalc.operations.publishing import (
    NOTHING_CHANGED, NOTHING_PUBLISHED, RETIRED_ONLY, STATE_NOT_WRITTEN, output_stage, publish_with_commit,
    remove_stale_staging, retired_carry,
)
from indexcalc.operations.reconcile import (
    RESTATEMENTS_FOLDER, view_after, compare_with_ledger, restated_levels, rows_for_ledger, unpublished_levels,
    with_published_levels,
)
from indexcalc.operations.state import LEDGER_FOLDER, state_path, state_problem, write_state
from indexcalc.pipeline import Calculation, Skipped, calculate, computable
from indexcalc.release import check_nothing_held
from indexcalc.specs import IndexSpecBase

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
    options: RebuildOptions = RebuildOptions(),
    **keywords: Any,
) -> RebuildOutcome:
    """Recompute every computable spec over the whole market and publish it (module docstring).

    ``options`` (:class:`RebuildOptions`; its fields may also be given as keywords, which
    replace them). Raises :class:`RestatementRequired` (a StateError) after writing the
    restatement report when published levels would move and ``restate_reason`` is None;
    nothing else changes. A published index that can no longer be computed is a StateError,
    changing nothing, unless its id is in ``retire``: it is then retired with ``retire_reason``
    (:mod:`indexcalc.retirement`), and its files stay published. ``publish`` False updates
    the ledger only.
    """
    options = with_keywords(options, keywords)
    out_dir = Path(out_dir)
    ledger = Ledger(out_dir / LEDGER_FOLDER)
    catalogue = list(specs)
    specs, skipped = computable(catalogue, market)
    check_rebuild_options(specs, market, options)
    with output_lock(out_dir):
        with output_stage(out_dir, NOTHING_CHANGED):
            remove_stale_staging(out_dir)
            ledger.remove_temporaries()
        published = ledger.current()
        retired, new_retirements = retirements_after(ledger.retirements(), published, specs, skipped, stamp, options)
        calculation = calculate(market, specs, on_step=options.on_step, disruption=options.disruption,
                                executor=options.executor)
        results = calculation.results
        check_nothing_held(published, str(ledger.directory))
        hash_value = input_hash(market)
        report = compare_with_ledger(results, published)
        report_path = write_restatement_report(report, out_dir, stamp, options, skipped) if report.height else None
        restated = restated_levels(report, results, published) if report.height else None
        new = unpublished_levels(results, published)
        by_id = {spec.id: spec for spec in specs}
        parts = [rows_for_ledger(new, by_id, stamp, hash_value)]
        if restated is not None:
            parts.append(rows_for_ledger(restated, by_id, stamp, hash_value, reason=options.restate_reason))
        rows = pl.concat(parts, how="vertical")
        published_after = view_after(published, rows)
        state = rebuilt_state(calculation, specs, market, published_after, hash_value, options.disruption)

        def commit() -> None:  # the retirement records first: without the levels they are still true
            with output_stage(ledger.directory, NOTHING_PUBLISHED):
                ledger.retire(new_retirements, stamp.run_time, stamp.run_id)
            with output_stage(ledger.directory, RETIRED_ONLY if new_retirements.height else NOTHING_PUBLISHED):
                ledger.append(rows, stamp.run_time, stamp.run_id)

        if options.publish:
            options.step("publishing")
            shown = with_published_levels(results, published_after)
            carry = retired_carry(out_dir, retired, published_after, shown, catalogue)
            publish_with_commit(shown, market, out_dir, commit, options.workers, carry, options.on_step)
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


def retirements_after(
    retired: pl.DataFrame, published: pl.DataFrame, specs: list[IndexSpecBase], skipped: list[Skipped],
    stamp: RunStamp, options: RebuildOptions,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The retirement records after the rebuild and the new ones among them: the published
    indexes the data can no longer compute must all be in ``options.retire`` (a StateError
    otherwise, :func:`indexcalc.retirement.check_retirements`)."""
    from indexcalc.retirement import check_retirements, lost_indexes, retirement_records

    to_retire = check_retirements(
        lost_indexes(published, skipped, retired), options.retire, {spec.id for spec in specs}, retired
    )
    new_retirements = retirement_records(to_retire, options.retire_reason or "", published, stamp.run_time,
                                         stamp.run_id)
    return pl.concat([retired, new_retirements]).sort("index_id"), new_retirements


def check_rebuild_options(specs: list[IndexSpecBase], market: MarketData, options: RebuildOptions) -> None:
    """A StateError when no spec can be computed, or a restatement or retirement lacks a reason."""
    if not specs:
        raise StateError("no catalogue index can be computed on this market data", file=market.source or None)
    if options.restate_reason is not None and not options.restate_reason.strip():
        raise StateError("a restatement needs a non-empty reason")
    if options.retire and not (options.retire_reason and options.retire_reason.strip()):
        raise StateError("a retirement needs a non-empty reason")


def write_restatement_report(
    report: pl.DataFrame, out_dir: Path, stamp: RunStamp, options: RebuildOptions, skipped: list[Skipped]
) -> Path:
    """Write the restatement ``report`` to ``restatements/DATE.csv`` (DATE = the run's UTC date)
    and return its path; without a restatement reason raise :class:`RestatementRequired`."""
    from indexcalc.atomic import atomic_write_csv

    report_path = out_dir / RESTATEMENTS_FOLDER / f"{stamp.run_time.astimezone(dt.timezone.utc):%Y-%m-%d}.csv"
    with output_stage(report_path, NOTHING_CHANGED):
        atomic_write_csv(report_path, report)
    if options.restate_reason is None:
        outcome = RebuildOutcome(report=report, report_path=report_path, skipped=skipped)
        raise RestatementRequired(
            f"the rebuild would move {report.height} published level(s) of "
            f"{report.get_column('index').n_unique()} index(es); nothing was changed; the report is "
            f"{report_path} (use --restate --reason TEXT to publish the corrections)",
            outcome=outcome,
            file=str(out_dir / LEDGER_FOLDER),
        )
    return report_path


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
