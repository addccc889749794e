"""The append-only ledger of published levels (docs/design.md section 7).

A Parquet dataset under ``outputs/ledger/``: one part file per append, never rewritten or
deleted. Each row is one published level of one catalogue index on one date::

    index_id, date, level, daily_return, version, run_id, run_time, methodology_version,
    input_hash, reason, official_level, released

Every catalogue index is either an excess-return or a total-return index with its own id
(``LS-ER`` and ``LS-TR`` are two indexes), so "the ER and TR level" of a family is two rows,
one per index id: the ledger holds one row per index id, date and version. ``level`` is in
index points at full precision (the calculation continues from it), ``official_level`` the
published level, rounded to the spec's precision (:mod:`indexcalc.official`), ``daily_return``
a fraction. ``released`` is False for rows appended by ``run --hold-on-flags`` until
``indexcalc release`` appends the release record (:mod:`indexcalc.release`). Parts written
before these two columns existed read with ``official_level`` = ``level`` and ``released`` True.

Versions: the first publication of an (index, date) is version 1; a restatement appends the
corrected level with the next version and a ``reason``; old versions stay readable.
:meth:`Ledger.current` is the view "as published at a time": per index and date, the highest
version appended at or before it.

Commit point: a part is written to a hidden temporary name in the ledger folder, flushed to
disk, then renamed to ``part-<run time>-<run id>.parquet`` (an atomic rename) and the folder is
flushed. A run that dies before the rename has published nothing (readers ignore the hidden
temporary file); after it, the rows are published whole.

Retirements: an index the data can no longer serve is retired by a record in a
``retired-<run time>-<run id>.parquet`` part (:data:`RETIREMENT_SCHEMA`, :meth:`Ledger.retire`),
written the same way; its level rows stay.

``run_time`` is UTC, given by the caller (functions here never read the clock).
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import hashlib
import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import polars as pl

from indexcalc import METHODOLOGY_VERSION
from indexcalc.data.market import MarketData
from indexcalc.errors import OutputError, StateError

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
    "official_level": pl.Float64(),
    "released": pl.Boolean(),
}

PART_PREFIX = "part-"
RETIRED_PREFIX = "retired-"
"""Parts of retirement records (:meth:`Ledger.retire`), beside the level parts."""
PART_SUFFIX = ".parquet"
TEMPORARY_PREFIX = ".tmp-"
RETIREMENT_SCHEMA: dict[str, pl.DataType] = {
    "index_id": pl.String(),
    "date": pl.Date(),
    "last_date": pl.Date(),
    "reason": pl.String(),
    "run_id": pl.String(),
    "run_time": pl.Datetime("us", "UTC"),
}
"""A retirement record: the index, the date it was retired (the run's UTC date), the date of
its last published level, why, and the run that retired it. A retired index can no longer be
computed; its published levels and files stay, and no run appends to it."""

LOCK_FILE = ".lock"
"""In the output folder (beside ``ledger/``): held (``flock``) by a run, rebuild or publish
while it writes, one writer at a time (:func:`output_lock`)."""

RUN_ID_LENGTH = 12
"""Hex characters of a run id (48 random bits)."""


def new_run_id() -> str:
    """A fresh random run id (``RUN_ID_LENGTH`` hex characters)."""
    return uuid.uuid4().hex[:RUN_ID_LENGTH]


def methodology_version(spec) -> str:
    """``"<METHODOLOGY_VERSION> spec:<12 hex>"``: the methodology release and a fingerprint of the
    index's spec (SHA-256 of :meth:`~indexcalc.specs.base.IndexSpecBase.fingerprint`: its
    canonical JSON and, for a base-metals basket, its stress scenarios), so a changed parameter
    or scenario shows in the ledger and restarts the daily state."""
    fingerprint = hashlib.sha256(spec.fingerprint().encode()).hexdigest()[:12]
    return f"{METHODOLOGY_VERSION} spec:{fingerprint}"


def input_hash(market: MarketData) -> str:
    """SHA-256 (hex) of every input frame (prices, rates, inflation, macro, held), each sorted by
    its keys: equal inputs give equal hashes, and the hash does not depend on the library version
    (:func:`input_hashes` for the layout)."""
    return input_hashes(market, [None])[0]


def input_hashes(market: MarketData, cuts: Sequence[dt.date | None]) -> list[str]:
    """``input_hash(market.up_to(cut))`` for each cut (None: the whole market), in one pass.

    Each frame is sorted by its keys (``prices`` by root, date, contract; ``macro`` by series,
    date; ``held`` by root, date; the others by date) and split into its groups (runs of the
    first key; one group when the first key is the date). Every column of every group is hashed
    on its own, as its little-endian values (dates and integers as their physical values, a
    validity mask of one byte per row first when it has nulls; strings as the lengths and
    values of their runs); the digest of a frame is SHA-256 of its name, height, column names
    and types and the group digests, and the input hash SHA-256 of the frame digests. Rows of a
    group are in date order, so the rows up to a cut are a prefix of the group: the digest of
    each cut is a copy of the running hash at its prefix, and one pass over the bytes serves
    every cut.
    """
    frames = {
        "prices": (market.prices, ("root", "date", "contract")),
        "rates": (market.rates, ("date",)),
        "inflation": (market.inflation, ("date",)),
        "macro": (market.macro, ("series", "date")),
        "held": (market.held if market.held is not None else pl.DataFrame(), ("root", "date")),
    }
    totals = [hashlib.sha256() for _ in cuts]
    for name, (frame, keys) in frames.items():
        for total, digest in zip(totals, _frame_digests(name, _sorted(frame, keys), keys, cuts)):
            total.update(digest)
    return [total.hexdigest() for total in totals]


def _sorted(frame: pl.DataFrame, keys: tuple[str, ...]) -> pl.DataFrame:
    """``frame`` sorted by ``keys``; a frame already in that order (the market frames usually
    are) is returned as is, which is much cheaper than sorting it again."""
    if frame.height < 2 or not all(key in frame.columns for key in keys):
        return frame
    first = frame.get_column(keys[0])
    if not first.is_sorted():
        return frame.sort(*keys)
    if len(keys) == 1:
        return frame
    # The first key is sorted, so a row is in order if it starts a new run of the first key or
    # its remaining keys are lexicographically >= the previous row's (numeric comparisons only).
    lengths = first.rle().struct.field("len").to_numpy()
    new_run = np.zeros(frame.height, dtype=bool)
    new_run[np.cumsum(lengths)[:-1]] = True
    rest_in_order, equal_so_far = pl.lit(False), pl.lit(True)
    for position, key in enumerate(keys[1:], start=1):
        current, previous = pl.col(key), pl.col(key).shift(1)
        step = current >= previous if position == len(keys) - 1 else current > previous
        rest_in_order = rest_in_order | (equal_so_far & step)
        equal_so_far = equal_so_far & (current == previous)
    ordered = (
        frame.select(*keys[1:])
        .with_columns(pl.Series("new_run", new_run))
        .select((pl.col("new_run") | rest_in_order.fill_null(False)).slice(1).all())
        .item()
    )
    return frame if ordered else frame.sort(*keys)


def _frame_digests(name: str, frame: pl.DataFrame, keys: tuple[str, ...], cuts: Sequence[dt.date | None]) -> list[bytes]:
    """Per cut, the digest of ``frame``'s rows up to it (see :func:`input_hashes`)."""
    grouped = keys[0] != "date" and keys[0] in frame.columns
    if frame.height == 0:
        starts = ends = np.zeros(0, dtype=np.int64)
    elif grouped:
        ends = np.cumsum(frame.get_column(keys[0]).rle().struct.field("len").to_numpy()).astype(np.int64)
        starts = np.concatenate(([0], ends[:-1]))
    else:
        starts, ends = np.array([0]), np.array([frame.height])
    days = frame.get_column("date").to_physical().to_numpy() if "date" in frame.columns else None
    # per cut and group: the end of the group's rows up to the cut (a group's rows are in date order)
    stops = np.array(
        [ends if cut is None or days is None else
         starts + np.array([np.searchsorted(days[a:b], (cut - dt.date(1970, 1, 1)).days, side="right")
                            for a, b in zip(starts, ends)], dtype=np.int64)
         for cut in cuts],
        dtype=np.int64,
    ).reshape(len(cuts), len(starts))
    digests = [hashlib.sha256(f"\x1e{name}:{int((row - starts).sum())}".encode()) for row in stops]
    for column in frame.columns:
        series = frame.get_column(column)
        header = f"\x1f{column}:{series.dtype}".encode()
        for digest in digests:
            digest.update(header)
        group_key = grouped and column == keys[0]
        arrays = None if group_key else _column_arrays(series)
        for group, (start, end) in enumerate(zip(starts, ends)):
            if group_key:  # constant in its group: its value once
                value = hashlib.sha256(str(series[int(start)]).encode()).digest()
                parts = [value] * len(cuts)
            else:
                parts = _prefix_digests(arrays, int(start), stops[:, group])
            for position, part in enumerate(parts):
                if stops[position, group] > start:  # a group with no row up to a cut is not in it
                    digests[position].update(part)
    return [digest.digest() for digest in digests]


def _prefix_digests(arrays: tuple[np.ndarray, np.ndarray | list[bytes]], start: int, stops: np.ndarray) -> list[bytes]:
    """The digest of rows ``start:stop`` of a column (:func:`_column_arrays`) for each stop,
    hashing each row once: the stops are visited in increasing order and the running hashes
    copied at each. One running hash of the validity bytes and one of the values, so that the
    bytes of a slice followed by those of the next slice are those of the two together."""
    validity_bytes, value_bytes = arrays
    validity, values = hashlib.sha256(), hashlib.sha256()
    results: list[bytes] = [b""] * len(stops)
    position = start
    for index in np.argsort(stops, kind="stable"):
        stop = int(stops[index])
        if stop > position:
            validity.update(memoryview(validity_bytes[position:stop]))
            if isinstance(value_bytes, list):
                values.update(b"".join(value_bytes[position:stop]))
            else:
                values.update(memoryview(value_bytes[position:stop]))
            position = stop
        results[index] = validity.copy().digest() + values.copy().digest()
    return results


def _column_arrays(series: pl.Series) -> tuple[np.ndarray, np.ndarray | list[bytes]]:
    """A column as (validity, values): one validity byte per row (1 = null); the values as
    little-endian physical values (nulls as 0), or for strings each value followed by a 0 byte."""
    validity = series.is_null().to_numpy().astype(np.uint8)
    if series.dtype == pl.String:
        return validity, [(value + "\x00").encode() for value in series.fill_null("").to_list()]
    physical = series.to_physical()
    values = physical.fill_null(0).to_numpy() if physical.null_count() else physical.to_numpy()
    return validity, np.ascontiguousarray(values.astype(values.dtype.newbyteorder("<"), copy=False))


class Ledger:
    """Read and append the ledger in ``directory`` (see the module docstring)."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)

    def parts(self) -> list[Path]:
        """The committed part files, oldest first (names start with the UTC run time)."""
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob(f"{PART_PREFIX}*{PART_SUFFIX}"))

    def exists(self) -> bool:
        return bool(self.parts())

    def read_all(self) -> pl.DataFrame:
        """Every row ever published, all versions (ledger schema), in append order."""
        parts = self.parts()
        if not parts:
            return pl.DataFrame(schema=LEDGER_SCHEMA)
        try:
            # every part is written with the ledger schema: read them in one go (a year of daily
            # parts reads in ~30 ms this way against ~250 ms part by part)
            rows = pl.read_parquet(parts)
            if rows.schema == pl.Schema(LEDGER_SCHEMA):
                return rows
        except Exception:  # noqa: BLE001 - parts of another schema: read one by one below
            pass
        return pl.concat([_read_part(part) for part in parts], how="vertical")

    def current(self, as_of: dt.datetime | None = None) -> pl.DataFrame:
        """The levels as published at ``as_of`` (default: everything appended): per index and
        date, the row with the highest version appended at or before that time (a naive
        ``as_of`` is UTC). Sorted by index, date."""
        return current_view(self.read_all(), as_of)

    def last_date(self) -> dt.date | None:
        """The latest date published for any index (None for an empty ledger)."""
        rows = self.read_all()
        return None if rows.is_empty() else rows.get_column("date").max()

    def append(self, rows: pl.DataFrame, run_time: dt.datetime, run_id: str) -> Path | None:
        """Append ``rows`` (ledger schema) as one new part; returns its path (None if empty).

        The part is the commit point of a run (module docstring). Rows must be unique per
        index, date and version, with versions >= 1; they are stored sorted by index, date,
        version, so equal rows give equal files.
        """
        if rows.is_empty():
            return None
        rows = rows.select([pl.col(name).cast(dtype) for name, dtype in LEDGER_SCHEMA.items()]).sort(
            "index_id", "date", "version"
        )
        if rows.select(pl.struct("index_id", "date", "version").is_duplicated().any()).item():
            duplicated = rows.filter(pl.struct("index_id", "date", "version").is_duplicated()).row(0, named=True)
            raise StateError(
                "the rows to append repeat an index, date and version",
                file=str(self.directory),
                key=f"index {duplicated['index_id']}, date {duplicated['date']}, version {duplicated['version']}",
            )
        if rows.select((pl.col("version") < 1).any() | pl.col("level").is_null().any()).item():
            raise StateError("ledger rows need a level and a version >= 1", file=str(self.directory))
        return self._write_part(rows, PART_PREFIX, run_time, run_id)

    def _write_part(self, frame: pl.DataFrame, prefix: str, run_time: dt.datetime, run_id: str) -> Path:
        """Write ``frame`` as ``<prefix><run time>-<run id>.parquet`` through a hidden
        temporary file, an fsync and an atomic rename, then fsync the folder."""
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = run_time.astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        final = self.directory / f"{prefix}{stamp}-{run_id}{PART_SUFFIX}"
        if final.exists():
            raise StateError("a ledger part with this run time and run id exists", file=str(final))
        temporary = self.directory / f"{TEMPORARY_PREFIX}{run_id}{PART_SUFFIX}"
        try:
            frame.write_parquet(temporary)
            with open(temporary, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(temporary, final)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        _fsync_directory(self.directory)
        return final

    def retire(self, records: pl.DataFrame, run_time: dt.datetime, run_id: str) -> Path | None:
        """Append retirement records (:data:`RETIREMENT_SCHEMA`) as one ``retired-*`` part
        (written like a level part); returns its path (None if empty)."""
        if records.is_empty():
            return None
        records = records.select([pl.col(name).cast(dtype) for name, dtype in RETIREMENT_SCHEMA.items()])
        return self._write_part(records.sort("index_id"), RETIRED_PREFIX, run_time, run_id)

    def retirements(self) -> pl.DataFrame:
        """Every retirement record (:data:`RETIREMENT_SCHEMA`), the first per index, sorted
        by index (an index is retired once; a later record of it changes nothing)."""
        if not self.directory.is_dir():
            return pl.DataFrame(schema=RETIREMENT_SCHEMA)
        parts = sorted(self.directory.glob(f"{RETIRED_PREFIX}*{PART_SUFFIX}"))
        if not parts:
            return pl.DataFrame(schema=RETIREMENT_SCHEMA)
        frames = [_read_part(part, RETIREMENT_SCHEMA) for part in parts]
        return (
            pl.concat(frames, how="vertical")
            .sort("run_time")
            .unique(subset=["index_id"], keep="first", maintain_order=True)
            .sort("index_id")
        )

    def remove_temporaries(self) -> list[Path]:
        """Delete the temporary part files of appends that died before their commit (call only
        while holding :meth:`lock`); returns them."""
        if not self.directory.is_dir():
            return []
        stale = sorted(self.directory.glob(f"{TEMPORARY_PREFIX}*{PART_SUFFIX}"))
        for path in stale:
            path.unlink(missing_ok=True)
        return stale

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the writer lock of the output folder this ledger is in (the ledger folder's
        parent; :func:`output_lock`) for the ``with`` block; another holder is a StateError."""
        with output_lock(self.directory.parent):
            yield


@contextmanager
def output_lock(out_dir: Path | str) -> Iterator[None]:
    """Hold the writer lock of the output folder ``out_dir`` for the ``with`` block: an
    exclusive ``flock`` on ``out_dir/.lock`` (folder and file created if needed).

    One lock for every command that writes an output folder (``rebuild`` and ``run`` hold it
    throughout, ``publish`` while it writes): while one holds it, another is refused at once
    with a StateError (one line, exit code 2) rather than waiting. Checks that depend on the folder's contents ("it holds a
    ledger") are made inside the lock, so no writer can change them between the check and the
    write. The lock dies with its process, so a killed run never leaves it held. A folder
    where the lock file cannot be created (read-only, full) is an OutputError.
    """
    directory = Path(out_dir)
    path = directory / LOCK_FILE
    try:
        directory.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        cause = f"{error.strerror or error} ({errno.errorcode.get(error.errno or -1, '?')})"
        raise OutputError(
            f"cannot create the output folder's lock file: {cause}; nothing was changed",
            file=str(error.filename or path),
        ) from None
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StateError(
                "another indexcalc run, rebuild or publish is writing this output folder; "
                "try again when it has finished",
                file=str(path),
            ) from None
        yield
    finally:
        os.close(descriptor)


def _read_part(part: Path, schema: dict[str, pl.DataType] = LEDGER_SCHEMA) -> pl.DataFrame:
    """One part file in ``schema`` (the ledger's); a part that cannot be read (damaged, truncated,
    foreign) is a StateError naming the part file: the ledger is the user's state, so the
    error says which file to restore from a backup (parts are never rewritten)."""
    try:
        frame = pl.read_parquet(part)
        if schema is LEDGER_SCHEMA:
            frame = _with_late_columns(frame)
        return frame.select([pl.col(name).cast(dtype) for name, dtype in schema.items()])
    except Exception as error:  # noqa: BLE001 - a damaged or foreign part is a state problem, not a bug
        cause = " ".join(str(error).split())[:160] or type(error).__name__
        raise StateError(
            f"cannot read the ledger: this part is damaged or not a ledger part ({cause}); "
            "restore it from a backup (parts are never rewritten)",
            file=str(part),
        ) from None


def _with_late_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """A part written before ``official_level`` and ``released`` existed: the level as its
    official level, released."""
    if "official_level" not in frame.columns:
        frame = frame.with_columns(pl.col("level").alias("official_level"))
    if "released" not in frame.columns:
        frame = frame.with_columns(pl.lit(True).alias("released"))
    return frame


def current_view(rows: pl.DataFrame, as_of: dt.datetime | None = None) -> pl.DataFrame:
    """Per index and date, the highest version among ``rows`` appended at or before ``as_of``
    (None: all rows; a naive ``as_of`` is UTC); of two rows with the same version, the later
    run time. Sorted by index, date.

    A first publication has version 1 and every restatement the next version; a release
    (:mod:`indexcalc.release`) appends the held rows again with the same version and a later run
    time. So a ledger without restatements or held rows has one row per index and date and is
    only sorted.
    """
    if as_of is not None:
        if as_of.tzinfo is None:
            as_of = as_of.replace(tzinfo=dt.timezone.utc)
        rows = rows.filter(pl.col("run_time") <= as_of)
    # a ledger without restatements or releases has one row per index and date: only sorted
    if rows.is_empty() or (rows.get_column("version").max() == 1 and rows.get_column("released").all()):
        return rows.sort("index_id", "date")
    keys = ("index_id", "date")
    latest = rows.filter(pl.col("version") == pl.col("version").max().over(keys))
    latest = latest.filter(pl.col("run_time") == pl.col("run_time").max().over(keys))
    return latest.unique(subset=list(keys), keep="last", maintain_order=True).sort(*keys)


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def ledger_rows(
    levels: pl.DataFrame,
    index_id: str | pl.Expr,
    *,
    version: int | pl.Expr = 1,
    run_id: str,
    run_time: dt.datetime,
    methodology_version: str | pl.Expr,
    input_hash_value: str,
    reason: str | None = None,
    official_level: pl.Expr | None = None,
    released: bool = True,
) -> pl.DataFrame:
    """Ledger rows from a levels frame ``date, level, daily_return``; ``index_id``,
    ``methodology_version`` and ``version`` are values or expressions on ``levels`` (say its
    ``index_id`` and ``version`` columns, for several indexes at once); ``official_level`` an
    expression on ``levels`` (default: the level itself)."""
    version_expr = version if isinstance(version, pl.Expr) else pl.lit(version)
    index_expr = index_id if isinstance(index_id, pl.Expr) else pl.lit(index_id)
    methodology_expr = methodology_version if isinstance(methodology_version, pl.Expr) else pl.lit(methodology_version)
    return levels.select(
        index_expr.cast(pl.String).alias("index_id"),
        "date",
        "level",
        "daily_return",
        version_expr.cast(pl.Int32).alias("version"),
        pl.lit(run_id).alias("run_id"),
        pl.lit(run_time.astimezone(dt.timezone.utc)).cast(pl.Datetime("us", "UTC")).alias("run_time"),
        methodology_expr.cast(pl.String).alias("methodology_version"),
        pl.lit(input_hash_value).alias("input_hash"),
        pl.lit(reason, dtype=pl.String).alias("reason"),
        (pl.col("level") if official_level is None else official_level).cast(pl.Float64).alias("official_level"),
        pl.lit(released).alias("released"),
    )
