"""The append-only ledger of published levels (DESIGN.md section 7).

A Parquet dataset under ``outputs/ledger/``: one file per append, never rewritten. Each row is
one published level: ``index_id, date, level, daily_return, version, run_id, run_time,
methodology_version, input_hash, reason``. A restatement appends the corrected levels with the
next ``version`` and its reason; old versions stay readable. Writing the part file (to a temp
name, fsync, then an atomic rename) is the commit point of a run: a run that dies before the
rename has published nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import uuid
from pathlib import Path

import polars as pl

from indexcalc.data.market import MarketData
from indexcalc.errors import StateError

LEDGER_SCHEMA: dict[str, pl.DataType] = {
    "index_id": pl.String(),
    "date": pl.Date(),
    "level": pl.Float64(),
    "daily_return": pl.Float64(),
    "version": pl.Int32(),
    "run_id": pl.String(),
    "run_time": pl.Datetime("us", "UTC"),
    "methodology_version": pl.String(),
    "input_hash": pl.String(),
    "reason": pl.String(),
}


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def input_hash(market: MarketData) -> str:
    """SHA-256 over the raw column buffers of every input frame (prices, rates, inflation,
    macro, held), sorted by their keys: equal inputs give equal hashes."""
    digest = hashlib.sha256()
    frames = {
        "prices": market.prices.sort("root", "date", "contract"),
        "rates": market.rates.sort("date"),
        "inflation": market.inflation.sort("date"),
        "macro": market.macro.sort("series", "date"),
        "held": market.held.sort("root", "date") if market.held is not None else pl.DataFrame(),
    }
    for name, frame in frames.items():
        digest.update(name.encode())
        for column in frame.columns:
            series = frame.get_column(column)
            digest.update(column.encode())
            if series.dtype == pl.String:
                digest.update("\x1f".join(series.fill_null("\x00").to_list()).encode())
            else:
                digest.update(series.cast(pl.Float64).fill_null(float("nan")).to_numpy().tobytes())
    return digest.hexdigest()


class Ledger:
    """Read and append the ledger in ``directory``."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)

    def parts(self) -> list[Path]:
        return sorted(self.directory.glob("part-*.parquet")) if self.directory.is_dir() else []

    def exists(self) -> bool:
        return bool(self.parts())

    def read_all(self) -> pl.DataFrame:
        """Every row ever published, all versions."""
        parts = self.parts()
        if not parts:
            return pl.DataFrame(schema=LEDGER_SCHEMA)
        try:
            return pl.concat([pl.read_parquet(part) for part in parts], how="vertical")
        except Exception as error:  # a damaged part is the user's state problem, not a bug
            raise StateError(f"cannot read the ledger ({error})", file=str(self.directory)) from None

    def current(self, as_of: dt.datetime | None = None) -> pl.DataFrame:
        """The levels as published at ``as_of`` (default: now): per index and date, the
        highest version appended at or before that time. Sorted by index, date."""
        rows = self.read_all()
        if as_of is not None:
            if as_of.tzinfo is None:
                as_of = as_of.replace(tzinfo=dt.timezone.utc)
            rows = rows.filter(pl.col("run_time") <= as_of)
        return (
            rows.sort("index_id", "date", "version", "run_time")
            .group_by("index_id", "date", maintain_order=True)
            .last()
            .sort("index_id", "date")
        )

    def last_date(self) -> dt.date | None:
        rows = self.read_all()
        return None if rows.is_empty() else rows.get_column("date").max()

    def append(self, rows: pl.DataFrame, run_time: dt.datetime, run_id: str) -> Path | None:
        """Append ``rows`` (ledger schema) as one new part; returns its path (None if empty).
        The rename is atomic, so readers see the whole part or nothing."""
        if rows.is_empty():
            return None
        rows = rows.select([pl.col(name).cast(dtype) for name, dtype in LEDGER_SCHEMA.items()])
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = run_time.astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        final = self.directory / f"part-{stamp}-{run_id}.parquet"
        temporary = self.directory / f".tmp-{run_id}.parquet"
        rows.write_parquet(temporary)
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, final)
        _fsync_directory(self.directory)
        return final


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def ledger_rows(
    levels: pl.DataFrame,
    index_id: str,
    *,
    version: int,
    run_id: str,
    run_time: dt.datetime,
    methodology_version: str,
    input_hash_value: str,
    reason: str | None = None,
) -> pl.DataFrame:
    """Ledger rows for one index from a levels frame ``date, level, daily_return``."""
    return levels.select(
        pl.lit(index_id).alias("index_id"),
        "date",
        "level",
        "daily_return",
        pl.lit(version, dtype=pl.Int32).alias("version"),
        pl.lit(run_id).alias("run_id"),
        pl.lit(run_time.astimezone(dt.timezone.utc)).cast(pl.Datetime("us", "UTC")).alias("run_time"),
        pl.lit(methodology_version).alias("methodology_version"),
        pl.lit(input_hash_value).alias("input_hash"),
        pl.lit(reason, dtype=pl.String).alias("reason"),
    )
