"""Retired indexes: a published index that the data can no longer serve (docs/design.md section 7).

An index is *lost* when it has published levels in the ledger but cannot be computed on the
run's market data (:func:`indexcalc.pipeline.computable` skips it: a root of its universe is
missing from new data, say). A run never drops a lost index silently: it refuses, changing
nothing, until the operator either restores the data or retires the index
(``indexcalc rebuild --retire ID --reason TEXT``).

Retiring records ``index, date, last_date, reason, run id`` in the ledger
(:meth:`indexcalc.ledger.Ledger.retire`; ``date`` is the run's UTC date, ``last_date`` the
index's last published level). A retired index keeps its ledger rows and its published files:
every later publication carries its factsheet, methodology, weights and tables over from the
previous one, writes its levels file from the ledger, adds its levels to
``levels/all_levels.parquet`` and lists it on the site's index page as "retired on D"; its
factsheet shows the note "Retired on D: REASON" (:func:`with_retirement_note`).
"""

from __future__ import annotations

import datetime as dt
import html
import re
import shutil
from pathlib import Path

import polars as pl

from indexcalc.errors import StateError
from indexcalc.ledger import RETIREMENT_SCHEMA
from indexcalc.pipeline import Skipped
from indexcalc.results import IndexResult
from indexcalc.specs import IndexSpecBase

NOT_CARRIED = frozenset({"ledger", "restatements"})
"""Folders of an output folder whose files are not a published index's files."""
FACTSHEETS_FOLDER = "factsheets"
LEVELS_FOLDER = "levels"
_SHOWN_LEVEL = pl.col("official_level").alias("level")
"""The level a publication shows: the official one (:mod:`indexcalc.official`)."""
NOTE_PATTERN = re.compile(r'<p class="note retired"[^>]*>.*?</p>\n?', re.S)
"""A retirement note already on a factsheet (replaced, not repeated, when carried over)."""


def lost_indexes(published: pl.DataFrame, skipped: list[Skipped], retired: pl.DataFrame) -> list[Skipped]:
    """The skipped indexes with published levels (``published``: a ledger view) that are not
    retired (``retired``: :meth:`indexcalc.ledger.Ledger.retirements`), in ``skipped`` order."""
    have_levels = set(published.get_column("index_id").unique().to_list())
    done = set(retired.get_column("index_id").to_list())
    return [index for index in skipped if index.index_id in have_levels and index.index_id not in done]


def check_retirements(
    lost: list[Skipped],
    retire: tuple[str, ...],
    computable_ids: set[str],
    retired: pl.DataFrame,
) -> list[str]:
    """The ids of ``retire`` to record now (not yet retired), after checking that every id
    names a lost or already retired index and that every lost index is retired; a StateError
    otherwise (nothing is changed by the run)."""
    lost_ids = [index.index_id for index in lost]
    done = set(retired.get_column("index_id").to_list())
    for index_id in retire:
        if index_id in computable_ids:
            raise StateError(
                "cannot retire an index the data can still compute (only one that cannot is retired)",
                key=f"index {index_id}",
            )
        if index_id not in lost_ids and index_id not in done:
            raise StateError("cannot retire an index with no published levels", key=f"index {index_id}")
    unretired = [index for index in lost if index.index_id not in retire]
    if unretired:
        first = unretired[0]
        others = f" (and {len(unretired) - 1} more)" if len(unretired) > 1 else ""
        raise StateError(
            f"a published index can no longer be computed ({first.reason}){others}; nothing was changed and its "
            f"files and levels stay published; restore its data, or retire it with "
            f"`indexcalc rebuild --retire {first.index_id} --reason TEXT`",
            key=f"index {first.index_id}",
        )
    return [index_id for index_id in dict.fromkeys(retire) if index_id not in done]


def retirement_records(
    index_ids: list[str], reason: str, published: pl.DataFrame, run_time: dt.datetime, run_id: str
) -> pl.DataFrame:
    """One record per index of ``index_ids`` (:data:`indexcalc.ledger.RETIREMENT_SCHEMA`):
    retired on the run's UTC date, ``last_date`` its last level in the ledger view ``published``."""
    last = published.group_by("index_id").agg(pl.col("date").max().alias("last_date"))
    run_time = run_time.astimezone(dt.timezone.utc)
    return (
        pl.DataFrame({"index_id": index_ids}, schema={"index_id": pl.String()})
        .join(last, on="index_id", how="left")
        .select(
            "index_id",
            pl.lit(run_time.date()).alias("date"),
            "last_date",
            pl.lit(reason).alias("reason"),
            pl.lit(run_id).alias("run_id"),
            pl.lit(run_time).cast(pl.Datetime("us", "UTC")).alias("run_time"),
        )
        .cast(RETIREMENT_SCHEMA)
    )


def retirement_note(record: dict) -> str:
    """The factsheet note of a retirement record: ``Retired on D: REASON`` and the date of the
    last level (HTML, the reason escaped)."""
    last = f" Its last level is of {record['last_date']:%d %B %Y}; no further level is calculated." if record.get(
        "last_date") else ""
    return (
        f'<p class="note retired" data-retired="{record["date"]}">'
        f"Retired on {record['date']:%d %B %Y}: {html.escape(record['reason'])}.{last}</p>\n"
    )


def with_retirement_note(page: str, record: dict) -> str:
    """``page`` (a factsheet) with its retirement note at the top of ``<main>`` (replacing any
    note already there, so that carrying a page over again does not repeat it)."""
    page = NOTE_PATTERN.sub("", page)
    note = retirement_note(record)
    for anchor in ("<main>\n", "<main>"):
        if anchor in page:
            return page.replace(anchor, anchor + note, 1)
    return note + page


def retired_results(
    retired: pl.DataFrame, published: pl.DataFrame, specs: dict[str, IndexSpecBase]
) -> dict[str, IndexResult]:
    """Per retired index whose spec is known: a result holding its published levels (the
    ledger view ``published``), named "NAME (retired on D)", for the site's index page."""
    results = {}
    for record in retired.iter_rows(named=True):
        spec = specs.get(record["index_id"])
        levels = published.filter(pl.col("index_id") == record["index_id"]).select("date", _SHOWN_LEVEL, "daily_return")
        if spec is None or levels.is_empty():
            continue
        named = spec.model_copy(update={"name": f"{spec.name} (retired on {record['date']:%d %B %Y})"})
        results[record["index_id"]] = IndexResult(spec=named, levels=levels, weights=pl.DataFrame())
    return results


def carry_retired_files(
    source: Path,
    staging: Path,
    retired: pl.DataFrame,
    published: pl.DataFrame,
    results: dict[str, IndexResult],
    specs: dict[str, IndexSpecBase],
) -> None:
    """Add the retired indexes to a staged publication (``staging``, written from ``results``):
    copy each one's files from the previous publication ``source`` (every ``FOLDER/ID.*`` but
    the ledger's and the restatements'), with the retirement note on its factsheet; write its
    levels file from the ledger view ``published``; add its levels to ``all_levels.parquet``;
    and write the site's index page with it listed as retired."""
    from indexcalc.atomic import atomic_write_csv, atomic_write_parquet, atomic_write_text
    from indexcalc.publish.levels import ALL_LEVELS_FILE, all_levels
    from indexcalc.publish.site import render_site_index

    if retired.is_empty():
        return
    folders = sorted(
        path for path in (source.iterdir() if source.is_dir() else [])
        if path.is_dir() and not path.name.startswith(".") and path.name not in NOT_CARRIED
    )
    for record in retired.iter_rows(named=True):
        index_id = record["index_id"]
        for folder in folders:
            for path in sorted(folder.iterdir()):
                if not path.is_file() or path.stem != index_id:
                    continue
                target = staging / folder.name / path.name
                target.parent.mkdir(parents=True, exist_ok=True)
                if folder.name == FACTSHEETS_FOLDER and path.suffix == ".html":
                    atomic_write_text(target, with_retirement_note(path.read_text(encoding="utf-8"), record))
                else:
                    shutil.copyfile(path, target)
        levels = published.filter(pl.col("index_id") == index_id).select("date", _SHOWN_LEVEL, "daily_return").sort("date")
        if levels.height:
            atomic_write_csv(staging / LEVELS_FOLDER / f"{index_id}.csv", levels)
    kept = retired_results(retired, published, specs)
    live = all_levels(results)
    carried = published.filter(
        pl.col("index_id").is_in(retired.get_column("index_id").to_list())
    ).select("index_id", "date", _SHOWN_LEVEL, "daily_return")
    atomic_write_parquet(staging / LEVELS_FOLDER / ALL_LEVELS_FILE, pl.concat([live, carried.cast(live.schema)]))
    atomic_write_text(staging / "index.html", render_site_index({**results, **kept}))
