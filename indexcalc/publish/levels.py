"""Data files of a publication: levels, weights and family tables (DESIGN.md section 7).

Layout under the publication folder:

- ``levels/INDEX.csv`` (``date,level,daily_return``) per index and ``levels/all_levels.parquet``
  (``index_id, date, level, daily_return``, every index);
- ``weights/INDEX.csv``: the index's weights frame as computed (``date, effective_date, root``
  first, then the family's columns, ``weight`` last);
- ``<table>/INDEX.csv`` for every family table of the result (``analytics``, ``trades``...).

Every file is written atomically.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from indexcalc.atomic import atomic_write_csv, atomic_write_parquet
from indexcalc.results import IndexResult

ALL_LEVELS_FILE = "all_levels.parquet"
WEIGHT_KEYS = ("date", "effective_date", "root")
RESERVED_FOLDERS = frozenset(
    {"levels", "weights", "factsheets", "methodology", "ledger", "index.html", "holdings", "api", "reports"}
)
"""Folders of a publication that a family table may not be named after."""


def csv_ready(frame: pl.DataFrame) -> pl.DataFrame:
    """Nested columns (lists, structs, arrays), which CSV cannot hold, as JSON-like strings."""
    nested = [column for column, dtype in frame.schema.items() if dtype.is_nested()]
    if not nested:
        return frame
    return frame.with_columns(
        pl.col(column).map_elements(str, return_dtype=pl.String) for column in nested
    )


def weights_columns(weights: pl.DataFrame) -> list[str]:
    """Column order of a published weights file: keys, family columns, then ``weight``."""
    keys = [column for column in WEIGHT_KEYS if column in weights.columns]
    rest = [column for column in weights.columns if column not in keys and column != "weight"]
    return keys + rest + (["weight"] if "weight" in weights.columns else [])


def all_levels(results: dict[str, IndexResult]) -> pl.DataFrame:
    """Every index's levels in one long frame ``index_id, date, level, daily_return``."""
    frames = [
        result.levels.select(pl.lit(index_id).alias("index_id"), "date", "level", "daily_return")
        for index_id, result in results.items()
    ]
    if not frames:
        return pl.DataFrame(schema={"index_id": pl.String, "date": pl.Date, "level": pl.Float64,
                                    "daily_return": pl.Float64})
    return pl.concat(frames)


def write_data_files(results: dict[str, IndexResult], out_dir: Path) -> list[Path]:
    """Write levels, weights and family tables of every result; returns the files written."""
    written: list[Path] = []
    for index_id, result in results.items():
        path = out_dir / "levels" / f"{index_id}.csv"
        atomic_write_csv(path, result.levels.select("date", "level", "daily_return").sort("date"))
        written.append(path)
        path = out_dir / "weights" / f"{index_id}.csv"
        atomic_write_csv(path, csv_ready(result.weights.select(weights_columns(result.weights))))
        written.append(path)
        for name, table in result.tables.items():
            if name in RESERVED_FOLDERS or not name.replace("_", "").isalnum():
                raise ValueError(f"{index_id}: table name {name!r} is reserved or not a plain folder name")
            path = out_dir / name / f"{index_id}.csv"
            atomic_write_csv(path, csv_ready(table))
            written.append(path)
    path = out_dir / "levels" / ALL_LEVELS_FILE
    atomic_write_parquet(path, all_levels(results))
    written.append(path)
    return written
