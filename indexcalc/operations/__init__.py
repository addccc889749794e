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

from indexcalc.operations.options import (
    CalendarSource,
    Disruption,
    OutputOptions,
    RebuildOptions,
    RunOptions,
    RunStamp,
    day_stamp,
)
from indexcalc.operations.calendar import (
    HELD_CONTRACT_LOOKBACK_DAYS,
    roots_in_use,
    index_calendar,
    calendar_days,
    check_required_data,
    ended_root_notices,
    refuse_date_before_data,
    data_end,
    check_within_data,
    last_session,
)
from indexcalc.operations.reconcile import (
    LEVEL_TOLERANCE,
    RESTATEMENTS_FOLDER,
    RESTATEMENT_SCHEMA,
    LEVEL_COLUMNS,
    all_levels,
    compare_levels,
    compare_with_ledger,
    levels_not_published,
    unpublished_levels,
    with_published_levels,
    rows_for_ledger,
    restated_levels,
    view_after,
)
from indexcalc.operations.state import (
    LEDGER_FOLDER,
    STATE_FILE,
    state_path,
    read_state,
    write_state,
    state_problem,
    published_already,
    published_history,
)
from indexcalc.operations.publishing import (
    NOTHING_CHANGED,
    NOTHING_PUBLISHED,
    FILES_NOT_REPLACED,
    RETIRED_ONLY,
    STATE_NOT_WRITTEN,
    os_error_cause,
    output_stage,
    publish_with_commit,
    retired_carry,
    publication_steps,
    rebuild_steps,
    remove_stale_staging,
    caught_up_first,
)
from indexcalc.operations.daily import (
    RunOutcome,
    run_daily,
    DayPlan,
    plan_day,
    complete_results,
)
from indexcalc.operations.rebuilding import (
    RebuildOutcome,
    RestatementRequired,
    rebuild,
    rebuilt_state,
)

__all__ = [
    "CalendarSource",
    "Disruption",
    "OutputOptions",
    "RebuildOptions",
    "RunOptions",
    "RunStamp",
    "day_stamp",
    "HELD_CONTRACT_LOOKBACK_DAYS",
    "roots_in_use",
    "index_calendar",
    "calendar_days",
    "check_required_data",
    "ended_root_notices",
    "refuse_date_before_data",
    "data_end",
    "check_within_data",
    "last_session",
    "LEVEL_TOLERANCE",
    "RESTATEMENTS_FOLDER",
    "RESTATEMENT_SCHEMA",
    "LEVEL_COLUMNS",
    "all_levels",
    "compare_levels",
    "compare_with_ledger",
    "levels_not_published",
    "unpublished_levels",
    "with_published_levels",
    "rows_for_ledger",
    "restated_levels",
    "view_after",
    "LEDGER_FOLDER",
    "STATE_FILE",
    "state_path",
    "read_state",
    "write_state",
    "state_problem",
    "published_already",
    "published_history",
    "NOTHING_CHANGED",
    "NOTHING_PUBLISHED",
    "FILES_NOT_REPLACED",
    "RETIRED_ONLY",
    "STATE_NOT_WRITTEN",
    "os_error_cause",
    "output_stage",
    "publish_with_commit",
    "retired_carry",
    "publication_steps",
    "rebuild_steps",
    "remove_stale_staging",
    "caught_up_first",
    "RunOutcome",
    "run_daily",
    "DayPlan",
    "plan_day",
    "complete_results",
    "RebuildOutcome",
    "RestatementRequired",
    "rebuild",
    "rebuilt_state",
]
