"""The release report of a run and the four-eyes release of a held day (docs/design.md
section 7).

**Release report** (:func:`release_report`), written by every ``run`` and ``rebuild`` for the
last date it published (``reports/DATE.json`` and ``reports/DATE.txt``, printed as a table):
per index its official level and the previous one, the daily change (the ledger's
``daily_return``, a fraction), whether the index rebalanced on the date (a new period of
weights took effect at its close: the stored state's anchor date is the date), the roots that
rolled at the close (:func:`root_events`: the contracts or roll weights held changed), the
roots whose settlement was carried (their exchange was open and a contract held at the previous
close has no positive settlement on the date), and a review flag when
``|daily_change| > threshold`` with the threshold of the index's family
(:data:`REVIEW_THRESHOLDS`).

**Four-eyes release.** ``run --hold-on-flags`` appends a day with a flagged move to the ledger
with ``released`` False and publishes nothing; no later run is allowed while a day is held.
``indexcalc release --date D`` (a second person) publishes exactly that day: the held rows are
appended again with ``released`` True, ``reason`` "released by NAME" and the release's run id
and time (the commit point of the publication, :func:`indexcalc.operations.publish_with_commit`),
so the ledger records who released what and when.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import polars as pl

from indexcalc.data.market import MarketData
from indexcalc.errors import StateError
from indexcalc.families.family import DEFAULT_REVIEW_THRESHOLD
from indexcalc.families.registry import FAMILIES
from indexcalc.specs import IndexSpecBase

REPORTS_FOLDER = "reports"

REVIEW_THRESHOLDS: dict[str, float] = {family.kind: family.review_threshold for family in FAMILIES}
"""Absolute daily change (fraction) above which an index of the family is flagged for review
(:attr:`indexcalc.families.family.Family.review_threshold`): about four daily standard
deviations of the family's index (10% annualised volatility targets for momentum and carry,
base metals and the single-commodity copper strategy more volatile)."""

EVENT_LOOKBACK_DAYS = 120
"""Calendar days of prices before the date used for the roll schedule of :func:`root_events`."""

REPORT_SCHEMA: dict[str, pl.DataType] = {
    "index": pl.String(),
    "kind": pl.String(),
    "date": pl.Date(),
    "level": pl.Float64(),
    "previous_date": pl.Date(),
    "previous_level": pl.Float64(),
    "daily_change": pl.Float64(),
    "rebalanced": pl.Boolean(),
    "rolled": pl.String(),
    "carried": pl.String(),
    "threshold": pl.Float64(),
    "flagged": pl.Boolean(),
}


def root_events(market: MarketData, specs: Iterable[IndexSpecBase], date: dt.date) -> pl.DataFrame:
    """``rule, root, rolled, carried`` for every roll rule and root in use on ``date``: ``rolled``
    when the contracts or roll weights held at the close of ``date`` differ from those at the
    root's previous close; ``carried`` when the root's exchange is open on ``date`` and a
    contract held at the previous close has no positive settlement on ``date``."""
    from indexcalc.data.calendars import business_days
    from indexcalc.operations import roots_in_use
    from indexcalc.pipeline import roll_rule_for
    from indexcalc.rolls import roll_schedule

    inside = pl.col("date").is_between(date - dt.timedelta(days=EVENT_LOOKBACK_DAYS), date)
    window = replace(market, prices=market.prices.filter(inside),
                     held=None if market.held is None else market.held.filter(inside))
    available = set(window.prices.get_column("root").unique().to_list())
    rules: dict[str, tuple[object, set[str]]] = {}
    for spec in specs:
        rule = roll_rule_for(spec, market)
        entry = rules.setdefault(rule.model_dump_json(), (rule, set()))
        entry[1].update(set(roots_in_use(spec, market)) & available)
    priced = window.prices.filter((pl.col("date") == date) & (pl.col("settle") > 0)).select("root", "contract")
    frames = []
    for key, (rule, roots) in rules.items():
        if not roots:
            continue
        schedule = roll_schedule(window, rule, sorted(roots))
        closes = schedule.select("root", "date").unique().sort("root", "date")
        previous = (
            closes.filter(pl.col("date") < date).group_by("root").agg(pl.col("date").max().alias("previous_date"))
        )
        held = schedule.join(previous, left_on=["root", "date"], right_on=["root", "previous_date"])
        today = schedule.filter(pl.col("date") == date)
        holding = lambda frame: frame.group_by("root").agg(  # noqa: E731
            pl.struct("contract", "weight").sort_by("contract").alias("holding"))
        rolled = holding(today).join(holding(held), on="root", suffix="_before").select(
            "root", (pl.col("holding") != pl.col("holding_before")).alias("rolled"))
        open_roots = [root for root in sorted(roots)
                      if business_days(market.instruments[root].calendar, date, date).len() > 0]
        carried = (
            held.filter(pl.col("root").is_in(open_roots))
            .join(priced, on=["root", "contract"], how="anti")
            .select("root").unique().with_columns(pl.lit(True).alias("carried"))
        )
        frames.append(
            pl.DataFrame({"root": sorted(roots)})
            .join(rolled, on="root", how="left")
            .join(carried, on="root", how="left")
            .select(pl.lit(key).alias("rule"), "root", pl.col("rolled").fill_null(False),
                    pl.col("carried").fill_null(False))
        )
    schema = {"rule": pl.String, "root": pl.String, "rolled": pl.Boolean, "carried": pl.Boolean}
    return pl.concat(frames) if frames else pl.DataFrame(schema=schema)


def index_roots(specs: Iterable[IndexSpecBase], market: MarketData) -> dict[str, tuple[str, list[str]]]:
    """``{index id: (roll rule key, roots in use)}`` of ``specs`` on ``market``."""
    from indexcalc.operations import roots_in_use
    from indexcalc.pipeline import rule_key

    return {spec.id: (rule_key(spec, market), roots_in_use(spec, market)) for spec in specs}


def release_report(
    published: pl.DataFrame,
    specs: Iterable[IndexSpecBase],
    date: dt.date,
    events: pl.DataFrame,
    roots: dict[str, tuple[str, list[str]]],
    anchors: dict[str, dt.date] | None = None,
    thresholds: dict[str, float] | None = None,
) -> pl.DataFrame:
    """The report of ``date`` (:data:`REPORT_SCHEMA`, one row per index of ``specs`` published
    on ``date``, in spec order) from a ledger view ``published`` (``official_level``, else
    ``level``), the :func:`root_events` of the date, each index's roll rule and roots
    (:func:`index_roots`) and the anchor (last effective) date of each composite index
    (``anchors``; an index without one has ``rebalanced`` null). ``thresholds`` by kind
    default to :data:`REVIEW_THRESHOLDS`."""
    specs = list(specs)
    thresholds = {**REVIEW_THRESHOLDS, **(thresholds or {})}
    level = pl.col("official_level") if "official_level" in published.columns else pl.col("level")
    view = published.filter(pl.col("date") <= date).sort("index_id", "date").select(
        "index_id", "date", level.alias("level"), "daily_return",
        pl.col("date").shift(1).over("index_id").alias("previous_date"),
        level.shift(1).over("index_id").alias("previous_level"),
    ).filter(pl.col("date") == date)
    rows = []
    for spec in specs:
        key, in_use = roots.get(spec.id, ("", []))
        mine = events.filter((pl.col("rule") == key) & pl.col("root").is_in(sorted(in_use)))
        anchor = (anchors or {}).get(spec.id)
        rows.append({
            "index": spec.id,
            "kind": spec.kind,
            "rolled": " ".join(mine.filter(pl.col("rolled")).get_column("root").sort().to_list()),
            "carried": " ".join(mine.filter(pl.col("carried")).get_column("root").sort().to_list()),
            "rebalanced": None if anchor is None else anchor == date,
            "threshold": thresholds.get(spec.kind, DEFAULT_REVIEW_THRESHOLD),
        })
    facts = pl.DataFrame(rows, schema={"index": pl.String, "kind": pl.String, "rolled": pl.String,
                                       "carried": pl.String, "rebalanced": pl.Boolean, "threshold": pl.Float64})
    return (
        facts.join(view.rename({"index_id": "index"}), on="index", how="inner", maintain_order="left")
        .rename({"daily_return": "daily_change"})
        .with_columns((pl.col("daily_change").abs() > pl.col("threshold")).alias("flagged"))
        .select(*REPORT_SCHEMA)
        .cast(REPORT_SCHEMA)
    )


def report_text(report: pl.DataFrame) -> str:
    """The report as a plain-text table (one line per index, flagged ones marked ``REVIEW``)."""
    header = f"{'index':<22} {'level':>14} {'previous':>14} {'change':>9}  {'rebal':<5} {'rolled':<16} {'carried':<10} flag"
    lines = [header, "-" * len(header)]
    for row in report.iter_rows(named=True):
        rebalanced = "-" if row["rebalanced"] is None else "yes" if row["rebalanced"] else "no"
        previous = "" if row["previous_level"] is None else f"{row['previous_level']:,.4f}"
        change = "" if row["daily_change"] is None else f"{row['daily_change']:+.2%}"
        lines.append(
            f"{row['index']:<22} {row['level']:>14,.4f} {previous:>14} {change:>9}  {rebalanced:<5} "
            f"{row['rolled'] or '-':<16} {row['carried'] or '-':<10} {'REVIEW' if row['flagged'] else ''}".rstrip()
        )
    flagged = report.filter(pl.col("flagged")).height
    lines.append(f"{report.height} indexes, {flagged} flagged for review")
    return "\n".join(lines) + "\n"


def report_json(report: pl.DataFrame, date: dt.date, held: bool) -> str:
    """The report as JSON: ``{"date", "held", "flagged", "indexes": [...]}``."""
    flagged = report.filter(pl.col("flagged")).get_column("index").to_list()
    head = json.dumps({"date": date.isoformat(), "held": held, "flagged": flagged})[:-1]
    return f'{head}, "indexes": {report.write_json()}}}\n'


def write_report(report: pl.DataFrame, date: dt.date, out_dir: Path | str, held: bool = False) -> list[Path]:
    """Write ``reports/DATE.json`` and ``reports/DATE.txt`` under ``out_dir`` (atomically)."""
    from indexcalc.atomic import atomic_write_text

    folder = Path(out_dir) / REPORTS_FOLDER
    paths = [folder / f"{date}.json", folder / f"{date}.txt"]
    atomic_write_text(paths[0], report_json(report, date, held))
    atomic_write_text(paths[1], report_text(report))
    return paths


def held_dates(published: pl.DataFrame) -> list[dt.date]:
    """The dates of a ledger view with rows not released (held for review)."""
    if "released" not in published.columns:
        return []
    return published.filter(~pl.col("released")).get_column("date").unique().sort().to_list()


def check_nothing_held(published: pl.DataFrame, ledger_dir: str) -> None:
    """A StateError naming the held date when a day is held for review."""
    held = held_dates(published)
    if held:
        raise StateError(
            f"{held[0]} is held for review: release it first (`indexcalc release --date {held[0]}`)",
            file=ledger_dir,
        )


def release_rows(published: pl.DataFrame, date: dt.date, stamp, released_by: str) -> pl.DataFrame:
    """The release record of ``date``: its held rows appended again, released, with the
    release's run id and time and ``reason`` "released by NAME"."""
    held = published.filter((pl.col("date") == date) & ~pl.col("released"))
    if held.is_empty():
        raise StateError(f"nothing is held for review on {date}", key=f"date {date}")
    return held.with_columns(
        pl.lit(True).alias("released"),
        pl.lit(stamp.run_id).alias("run_id"),
        pl.lit(stamp.run_time.astimezone(dt.timezone.utc)).cast(pl.Datetime("us", "UTC")).alias("run_time"),
        pl.lit(f"released by {released_by}").alias("reason"),
    )


def release(
    market: MarketData,
    specs: Iterable[IndexSpecBase],
    date: dt.date,
    out_dir: Path | str,
    stamp,
    released_by: str,
    *,
    workers: int = 1,
    disruption: str = "error",
) -> pl.DataFrame:
    """Publish the day held for review on ``date`` (module docstring); returns the release
    rows. The publication is that of a publishing run of ``date``: the full calculation on the
    data up to it, with the ledger's levels."""
    from indexcalc.ledger import Ledger
    from indexcalc.operations import (
        LEDGER_FOLDER,
        all_levels,
        compare_levels,
        publish_with_commit,
        remove_stale_staging,
        view_after,
        with_published_levels,
    )
    from indexcalc.official import precisions_of
    from indexcalc.pipeline import computable, rebuild_all

    if not released_by.strip():
        raise StateError("a release needs the name of who releases it (--by NAME)")
    out_dir = Path(out_dir)
    ledger = Ledger(out_dir / LEDGER_FOLDER)
    day_market = market.up_to(date)
    specs, _ = computable(list(specs), day_market)
    with ledger.lock():
        remove_stale_staging(out_dir)
        published = ledger.current()
        if published.is_empty() or published.get_column("date").max() != date:
            raise StateError(f"{date} is not the last date of the ledger; only the last day can be released",
                             file=str(ledger.directory))
        rows = release_rows(published, date, stamp, released_by)
        results = rebuild_all(day_market, specs, disruption=disruption)
        differing = compare_levels(all_levels(results), published, precisions=precisions_of(specs))
        if differing.height:
            index, day = differing.select("index", "date").row(0)
            raise StateError("the data no longer reproduces the held levels; nothing was released "
                             "(run `indexcalc rebuild`)", key=f"index {index}, date {day}")
        commit = lambda: ledger.append(rows, stamp.run_time, stamp.run_id)  # noqa: E731
        publish_with_commit(with_published_levels(results, view_after(published, rows)), day_market, out_dir,
                            commit, workers)
    return rows


# --- at the edge: the ledger, the stored state, the terminal ------------------------------------


def ledger_report(
    out_dir: Path | str,
    market: MarketData,
    specs: Iterable[IndexSpecBase],
    date: dt.date,
    thresholds: dict[str, float] | None = None,
) -> pl.DataFrame:
    """The release report of ``date`` from the ledger and the stored state in ``out_dir``
    (the anchors are known when the state is as of ``date``)."""
    from indexcalc.ledger import Ledger
    from indexcalc.operations import LEDGER_FOLDER, read_state, state_path

    specs = list(specs)
    published = Ledger(Path(out_dir) / LEDGER_FOLDER).current()
    state = read_state(state_path(out_dir))
    anchors = None
    if state is not None and state.as_of == date:
        anchors = {index_id: index.anchor_date for index_id, index in state.indexes.items()}
    day_market = market.up_to(date)
    return release_report(published, specs, date, root_events(day_market, specs, date),
                          index_roots(specs, day_market), anchors, thresholds)


def review_hold(specs: Iterable[IndexSpecBase], market: MarketData, thresholds: dict[str, float] | None = None):
    """The ``hold`` of :func:`indexcalc.operations.run_daily` for ``run --hold-on-flags``: hold
    the day when its release report flags a move."""
    specs = list(specs)

    def hold(view: pl.DataFrame, plan) -> bool:
        anchors = None if plan.state is None else {
            index_id: index.anchor_date for index_id, index in plan.state.indexes.items()}
        events = root_events(plan.market, specs, plan.date)
        report = release_report(view, specs, plan.date, events, index_roots(specs, plan.market), anchors,
                                thresholds)
        return bool(report.get_column("flagged").any())

    return hold


PRINTED_ROWS = 60
"""Rows the printed report shows at most: beyond it (a catalogue of grid variants), the indexes
flagged for review and then the others up to this count; the files hold every row."""


def print_report(report: pl.DataFrame, date: dt.date, held: bool = False) -> None:
    """The report as a rich table on stdout (plain text when stdout is not a terminal): every
    index, or beyond :data:`PRINTED_ROWS` the flagged ones first and a line saying how many
    more the report files hold."""
    from rich.console import Console
    from rich.table import Table

    flagged = report.filter(pl.col("flagged")).height
    title = f"Release report {date}: {report.height} indexes, {flagged} flagged for review"
    if held:
        title += f" (held: `indexcalc release --date {date}` publishes it)"
    hidden = 0
    if report.height > PRINTED_ROWS:
        shown = pl.concat([report.filter(pl.col("flagged")), report.filter(~pl.col("flagged"))]).head(
            max(PRINTED_ROWS, flagged))
        hidden, report = report.height - shown.height, shown
    table = Table(title=title, title_justify="left")
    for name, justify in (("index", "left"), ("level", "right"), ("change", "right"), ("rebalanced", "left"),
                          ("rolled", "left"), ("carried", "left"), ("review", "left")):
        table.add_column(name, justify=justify)
    for row in report.iter_rows(named=True):
        change = "" if row["daily_change"] is None else f"{row['daily_change']:+.2%}"
        rebalanced = "-" if row["rebalanced"] is None else "yes" if row["rebalanced"] else ""
        table.add_row(row["index"], f"{row['level']:,.4f}", change, rebalanced, row["rolled"], row["carried"],
                      f"[bold red]> {row['threshold']:.0%}[/]" if row["flagged"] else "")
    if hidden:
        table.caption = f"{hidden} more indexes, none flagged: reports/{date}.txt and .json hold every row"
        table.caption_justify = "left"
    Console(width=120).print(table)
