"""``indexcalc run``, ``indexcalc rebuild`` and ``indexcalc history``: daily operation against
the ledger (docs/design.md section 7; the logic is in :mod:`indexcalc.operations`).

These commands read the clock (the run time stamped on ledger rows) and print; the functions
they call do neither.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from indexcalc.cli import main
from indexcalc.clock import run_today
from indexcalc.commands.data import market_options
from indexcalc.errors import DataError, StateError

DEFAULT_OUT = Path("outputs")

_out_option = click.option(
    "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_OUT, show_default=True,
    help="Publication folder (the ledger is OUT/ledger).",
)
_catalogue_option = click.option(
    "--catalogue", "catalogue_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Catalogue folder (default: the project's data/catalogue).",
)


def _stamp():
    from indexcalc.ledger import new_run_id
    from indexcalc.operations import RunStamp

    return RunStamp(run_time=dt.datetime.now(dt.timezone.utc), run_id=new_run_id())


def _specs(catalogue_dir: Path | None):
    from indexcalc.catalogue import DEFAULT_CATALOGUE_DIR, load_catalogue

    return load_catalogue(catalogue_dir or DEFAULT_CATALOGUE_DIR)


def _notice(message: str) -> None:
    click.echo(message, err=True)


def _progress(enabled: bool, description: str, total: int | None = None):
    """A progress bar on stderr, drawn only on a terminal after a second of work."""
    from indexcalc.progress import DelayedProgress

    return DelayedProgress(total=total, description=description, enabled=enabled)


def _workers(specs) -> int:
    from indexcalc.publish import default_workers

    return default_workers(len(specs))


_carry_forward_option = click.option(
    "--carry-forward", is_flag=True,
    help="Market disruption (a held contract without a settlement on a session): its last settlement "
         "is kept (flagged) and the roll waits; without this switch more than 5 consecutive disrupted "
         "sessions of a root stop the run, with it there is no limit. Use the same choice for rebuild and run.",
)
_progress_option = click.option("--progress/--no-progress", default=True, show_default=True,
                                help="Progress bar on a terminal when the run takes longer than a second.")


_review_threshold_option = click.option(
    "--review-threshold", type=click.FloatRange(min=0), default=None,
    help="Flag for review every index whose daily change exceeds this fraction (default: the family's "
         "threshold, e.g. 0.03 for momentum).")


def _thresholds(review_threshold: float | None) -> dict[str, float] | None:
    from indexcalc.release import REVIEW_THRESHOLDS

    return None if review_threshold is None else {kind: review_threshold for kind in REVIEW_THRESHOLDS}


def _hold(specs, market, review_threshold: float | None):
    from indexcalc.release import review_hold

    return review_hold(specs, market, _thresholds(review_threshold))


def _release_report(out_dir: Path, market, specs, date: dt.date, review_threshold: float | None,
                    held: bool = False) -> None:
    """Print the release report of ``date`` and write it to OUT/reports/DATE.json and .txt."""
    from indexcalc.pipeline import computable
    from indexcalc.release import ledger_report, print_report, write_report

    usable, _ = computable(specs, market.up_to(date))
    report = ledger_report(out_dir, market, usable, date, _thresholds(review_threshold))
    paths = write_report(report, date, out_dir, held)
    print_report(report, date, held)
    click.echo(f"release report: {paths[1]}")


def _report_skipped(skipped) -> None:
    for index in skipped:
        _notice(f"skipped {index.index_id}: {index.reason}")


def _report_notices(notices) -> None:
    """Each notice of the run once (roots whose data has ended, indexcalc.rules.ended)."""
    for notice in notices:
        _notice(notice)


@main.command("run")
@click.option("--date", "run_date", default=None, type=click.DateTime(formats=["%Y-%m-%d"]),
              help="The business day to compute and publish (YYYY-MM-DD). Default: the last session in the "
                   "data, after every unpublished session before it.")
@click.option("--catch-up", is_flag=True,
              help="With --date: first run every unpublished business day before DATE, in order "
                   "(always done without --date).")
@click.option("--calendar", "calendar_source", type=click.Choice(["exchange", "data"]), default=None,
              help="Index calendar: exchange business days of the roots in use, or the dates in the data. "
                   "Default: exchange for the embedded market, data with --data.")
@market_options
@_catalogue_option
@_out_option
@_carry_forward_option
@click.option("--publish/--no-publish", "publish", default=True, show_default=True,
              help="Republish the files (levels, weights, tables, factsheets), or append to the ledger only: "
                   "a day inside a month is then continued from the stored state in under a second, and "
                   "running the same date again later publishes it.")
@click.option("--hold-on-flags", is_flag=True,
              help="When the release report flags a move, append the day to the ledger held for review and "
                   "publish nothing until `indexcalc release --date DATE`.")
@_review_threshold_option
@_progress_option
def run(run_date: dt.datetime | None, catch_up: bool, calendar_source: str | None, data_path: Path | None,
        data_format: str | None, catalogue_dir: Path | None, out_dir: Path, carry_forward: bool,
        publish: bool, hold_on_flags: bool, review_threshold: float | None, progress: bool) -> None:
    """Compute the levels of every catalogue index from the stored state and the data, append
    them to the ledger and republish the files. Without --date: every unpublished session up
    to the last one in the data; with --date DATE: that day. Running a published date again
    appends nothing (and republishes, which also repairs the files of an interrupted run)."""
    from indexcalc.data.load import load_market
    from indexcalc.operations import LEDGER_FOLDER, RunOptions, last_session, published_already, run_daily

    today = run_today()
    if run_date is not None and run_date.date() > today:
        raise DataError(f"--date {run_date.date()} is after today {today}: a future date cannot be published")
    if run_date is not None and published_already(out_dir, run_date.date(), publish):
        click.echo(f"{run_date.date()} was already published; nothing to do")
        return
    market = load_market(data_path, data_format, not_after=today)
    source = calendar_source or ("data" if data_path is not None else "exchange")
    specs = _specs(catalogue_dir)
    if run_date is None:
        from indexcalc.ledger import Ledger

        day = last_session(market, specs, source)
        published_through = Ledger(out_dir / LEDGER_FOLDER).last_date()
        if published_through is not None and published_through >= day:
            click.echo(f"published through {published_through}, the last session in the data ({day}): nothing to do")
            return
        run_date, catch_up = dt.datetime.combine(day, dt.time()), True
    with _progress(progress, f"run {run_date.date()}") as bar:
        options = RunOptions(
            catch_up=catch_up, calendar_source=source, workers=_workers(specs) if publish else 1, publish=publish,
            disruption="carry_forward" if carry_forward else "rules", on_step=bar.advance,
            hold=_hold(specs, market, review_threshold) if hold_on_flags else None, on_total=bar.set_total,
        )
        outcome = run_daily(market, specs, run_date.date(), out_dir, _stamp(), options)
    _report_skipped(outcome.skipped)
    _report_notices(outcome.notices)
    date = outcome.date
    if outcome.appended.get(date) or outcome.republished:
        _release_report(out_dir, market, specs, date, review_threshold, outcome.held)
    if outcome.already_published and not outcome.republished:
        click.echo(f"{date} was already published; nothing to do")
        return

    def how(day: dt.date) -> str:
        return "calculated in full" if day in outcome.full_days else "continued from the stored state"

    for day, rows in outcome.appended.items():
        if day != date:
            click.echo(f"caught up {day}: {rows} levels appended ({how(day)})")
    published = (f"{out_dir} republished" if outcome.republished
                 else "held for review: nothing published" if outcome.held else "files not republished (--no-publish)")
    if outcome.already_published:
        click.echo(f"{date} was already published: nothing appended; {published}")
    else:
        click.echo(f"{date}: {outcome.appended.get(date, 0)} levels appended to {out_dir / 'ledger'} "
                   f"({how(date)}); {published}")


@main.command("rebuild")
@market_options
@_catalogue_option
@_out_option
@click.option("--restate", is_flag=True, help="Publish corrected levels as a new version (needs --reason).")
@click.option("--retire", "retire", multiple=True, metavar="ID",
              help="Retire a published index the data can no longer compute (needs --reason; repeatable): "
                   "its levels and files stay published, its factsheet says 'retired on DATE: REASON'.")
@click.option("--reason", default=None,
              help="Why the published levels are restated or the indexes retired (stored in the ledger).")
@_carry_forward_option
@_review_threshold_option
@_progress_option
@click.option("--executor", "executor_name", type=click.Choice(["in-process", "ray"]), default="in-process",
              show_default=True,
              help="Where the indexes are computed: in this process, or as tasks on Ray (the 'distributed' "
                   "extra; a local instance with 2 workers unless --address names a cluster).")
@click.option("--address", default=None, metavar="ADDR",
              help="With --executor ray: the cluster to connect to ('auto', or ray://HOST:10001).")
def rebuild_command(data_path: Path | None, data_format: str | None, catalogue_dir: Path | None, out_dir: Path,
                    restate: bool, retire: tuple[str, ...], reason: str | None, carry_forward: bool,
                    review_threshold: float | None,
                    progress: bool, executor_name: str, address: str | None) -> None:
    """Recompute every catalogue index over the full history and publish it. The first rebuild
    creates the ledger; later ones append dates not yet published and compare the rest: if a
    published level would move, OUT/restatements/DATE.csv lists them and nothing changes
    (exit code 2) unless --restate --reason TEXT is given. A published index that the data can
    no longer compute stops the rebuild likewise (exit code 2, nothing changed) unless
    --retire ID --reason TEXT retires it."""
    from indexcalc.data.load import load_market
    from indexcalc.executors import make_executor
    from indexcalc.operations import RebuildOptions, rebuild

    if restate and not (reason and reason.strip()):
        raise StateError("--restate needs --reason TEXT")
    if retire and not (reason and reason.strip()):
        raise StateError("--retire needs --reason TEXT")
    if reason is not None and not (restate or retire):
        raise StateError("--reason is only used with --restate or --retire")
    market = load_market(data_path, data_format, not_after=run_today())
    specs = _specs(catalogue_dir)
    from indexcalc.operations import rebuild_steps

    with make_executor(executor_name, address) as executor, \
            _progress(progress, "rebuild", rebuild_steps(specs, market)) as bar:
        options = RebuildOptions(
            restate_reason=reason if restate else None, retire=retire, retire_reason=reason if retire else None,
            workers=_workers(specs), disruption="carry_forward" if carry_forward else "rules", on_step=bar.advance,
            executor=executor,
        )
        outcome = rebuild(market, specs, out_dir, _stamp(), options)
    _report_skipped(outcome.skipped)
    _report_notices(outcome.notices)
    if outcome.retired is not None:
        for record in outcome.retired.iter_rows(named=True):
            click.echo(f"retired {record['index_id']} on {record['date']}: {record['reason']} (its levels up to "
                       f"{record['last_date']} and its files stay published)")
    from indexcalc.ledger import Ledger
    from indexcalc.operations import LEDGER_FOLDER

    last = Ledger(out_dir / LEDGER_FOLDER).last_date()
    if last is not None:
        _release_report(out_dir, market, specs, last, review_threshold)
    if outcome.initial:
        click.echo(f"initial publication: {outcome.appended} levels in {out_dir / 'ledger'}; {out_dir} published")
        return
    if outcome.restated:
        click.echo(f"restated {outcome.restated} levels (report {outcome.report_path})")
    click.echo(f"{outcome.appended} new levels appended to {out_dir / 'ledger'}; {out_dir} republished")


def _parse_as_of(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO date or date-time (e.g. 2026-11-02T18:00:00Z)",
                                 param_hint="--as-of") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.timezone.utc)


@main.command("history")
@click.argument("index_id", metavar="INDEX")
@click.option("--as-of", "as_of", default=None,
              help="Show the levels as published at this time (ISO date-time; without a zone: UTC). Default: now.")
@_out_option
def history(index_id: str, as_of: str | None, out_dir: Path) -> None:
    """Print INDEX's levels as published at a time, as CSV with the columns date, level (the
    official level), version, run_time and calculated_level (full precision)."""
    import polars as pl

    from indexcalc.operations import LEDGER_FOLDER, published_history

    frame = published_history(out_dir / LEDGER_FOLDER, index_id, _parse_as_of(as_of))
    frame = frame.with_columns(pl.col("run_time").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"))
    click.echo(frame.write_csv(), nl=False)


@main.command("release")
@click.option("--date", "release_date", required=True, type=click.DateTime(formats=["%Y-%m-%d"]),
              help="The day held for review (by `run --hold-on-flags`) to publish.")
@click.option("--by", "released_by", required=True, help="Who releases the day (recorded in the ledger).")
@market_options
@_catalogue_option
@_out_option
@_carry_forward_option
def release_command(release_date: dt.datetime, released_by: str, data_path: Path | None, data_format: str | None,
                    catalogue_dir: Path | None, out_dir: Path, carry_forward: bool) -> None:
    """Publish a day held for review: the four-eyes step after `run --hold-on-flags`. The held
    levels are recorded as released in the ledger (who, when) and the files are published."""
    from indexcalc.data.load import load_market
    from indexcalc.release import release

    market = load_market(data_path, data_format)
    specs = _specs(catalogue_dir)
    rows = release(market, specs, release_date.date(), out_dir, _stamp(), released_by, workers=_workers(specs),
                   disruption="carry_forward" if carry_forward else "error")
    click.echo(f"{release_date.date()}: {rows.height} levels released by {released_by}; {out_dir} published")
