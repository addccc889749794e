"""Recomputed levels against the ledger: comparisons, restatements, the rows to append
(docs/design.md section 7). Pure: reads and writes nothing."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import polars as pl

from indexcalc.errors import StateError
from indexcalc.ledger import LEDGER_SCHEMA, current_view, ledger_rows, methodology_version
from indexcalc.official import official_by_index, precisions_of
from indexcalc.operations.options import RunStamp
from indexcalc.results import IndexResult
from indexcalc.specs import IndexSpecBase

LEVEL_TOLERANCE = 1e-12
"""Relative tolerance under which a recomputed level equals the published one:
``|recomputed - published| <= LEVEL_TOLERANCE * |published|``."""

RESTATEMENTS_FOLDER = "restatements"
RESTATEMENT_SCHEMA: dict[str, pl.DataType] = {
    "index": pl.String(),
    "date": pl.Date(),
    "published": pl.Float64(),
    "recomputed": pl.Float64(),
    "difference": pl.Float64(),
}
LEVEL_COLUMNS = ("date", "level", "daily_return")

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
    return compare_levels(all_levels(results), published, precisions=precisions_of(r.spec for r in results.values()))


def compare_levels(
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
    return levels_not_published(all_levels(results), published, through)


def levels_not_published(levels: pl.DataFrame, published: pl.DataFrame, through: dt.date | None = None) -> pl.DataFrame:
    """The rows of ``levels`` (up to ``through``) whose (index, date) the ledger view has not."""
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

def view_after(published: pl.DataFrame, rows: pl.DataFrame) -> pl.DataFrame:
    """The ledger view after appending ``rows``."""
    if rows.is_empty():
        return published
    return current_view(pl.concat([published, rows.select(published.columns)], how="vertical"))
