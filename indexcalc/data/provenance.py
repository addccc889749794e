"""Where each price of a merged market comes from, and how the sources agreed (docs/design.md section 1).

``provenance`` frame, one row per row of ``prices`` (same keys):
``date, root, contract, source`` (the source whose settle was taken), ``compared_source`` and
``compared_settle`` (the next source in the root's priority that also priced this (date,
contract), null where none did). Two prices agree when

    |settle - compared_settle| <= relative_tolerance * |compared_settle|.
"""

from __future__ import annotations

import polars as pl

from indexcalc.data.row_checks import Column, validate_frame

PROVENANCE_SCHEMA: dict[str, pl.DataType] = {
    "date": pl.Date(),
    "root": pl.String(),
    "contract": pl.Int32(),
    "source": pl.String(),
    "compared_source": pl.String(),
    "compared_settle": pl.Float64(),
}
PROVENANCE_COLUMNS = (
    Column("date", "date"),
    Column("root", "text"),
    Column("contract", "contract"),
    Column("source", "text"),
    Column("compared_source", "text", required=False, nullable=True),
    Column("compared_settle", "number", required=False, nullable=True, positive=True),
)
DEFAULT_RELATIVE_TOLERANCE = 1e-6
"""Two prices of one (date, contract) agree when they differ by at most this fraction (float
noise of a vendor's CSV, far below a tick)."""

REPORT_SCHEMA: dict[str, pl.DataType] = {
    "root": pl.String(),
    "source": pl.String(),
    "rows": pl.UInt32(),
    "first": pl.Date(),
    "last": pl.Date(),
    "compared": pl.UInt32(),
    "agree": pl.UInt32(),
    "share": pl.Float64(),
}


def validate_provenance(frame: pl.DataFrame, file: str, *, first_row: int | None = 2) -> pl.DataFrame:
    """Check a provenance frame (schema above; one row per (root, date, contract)) and return it
    typed, sorted by root, date, contract."""
    typed = validate_frame(frame, PROVENANCE_COLUMNS, ("root", "date", "contract"), file, first_row, [])
    return typed.select(pl.col(name).cast(dtype) for name, dtype in PROVENANCE_SCHEMA.items())


def agrees(settle: pl.Expr, reference: pl.Expr, relative_tolerance: float = DEFAULT_RELATIVE_TOLERANCE) -> pl.Expr:
    """|settle - reference| <= relative_tolerance * |reference| (null where either is null)."""
    return (settle - reference).abs() <= relative_tolerance * reference.abs()


def merge_report(
    prices: pl.DataFrame, provenance: pl.DataFrame, relative_tolerance: float = DEFAULT_RELATIVE_TOLERANCE
) -> pl.DataFrame:
    """Per root and source: ``rows`` taken from it, ``first``/``last`` date, ``compared`` (of
    those rows, how many a lower-priority source also priced), ``agree`` (how many of those
    agree, module docstring) and ``share`` = agree / compared (null where nothing compared)."""
    joined = provenance.join(prices.select("date", "root", "contract", "settle"), on=["date", "root", "contract"])
    return (
        joined.group_by("root", "source")
        .agg(
            pl.len().alias("rows"),
            pl.col("date").min().alias("first"),
            pl.col("date").max().alias("last"),
            pl.col("compared_settle").is_not_null().sum().alias("compared"),
            agrees(pl.col("settle"), pl.col("compared_settle"), relative_tolerance)
            .fill_null(False)
            .sum()
            .alias("agree"),
        )
        .with_columns(
            pl.when(pl.col("compared") > 0).then(pl.col("agree") / pl.col("compared")).alias("share")
        )
        .sort("root", "source")
        .cast(REPORT_SCHEMA)
    )
