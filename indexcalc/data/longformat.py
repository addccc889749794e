"""The long format of docs/design.md section 1: reader and writer.

A long-format market is either one prices file or a directory:

- ``prices.csv`` or ``prices.parquet`` (required): ``date, root, contract, settle`` required,
  ``volume, open_interest`` optional; one row per (date, root, contract);
- ``rates.*`` (``date, tbill``), ``inflation.*`` (``date, cpi``), ``macro.*``
  (``date, series, value``), ``held.*`` (``date, root, contract``), ``provenance.*`` (the
  source of each price row of a merged market, :mod:`indexcalc.data.provenance`): optional;
- ``instruments.toml`` (optional; else the default ``data/instruments.toml``).

Every frame goes through :mod:`indexcalc.data.validate`; errors name the file and row as the
user sees them (CSV: header = row 1, first data row = row 2; Parquet: first row = row 1).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path

import polars as pl

from indexcalc.data.instruments import DEFAULT_INSTRUMENTS_PATH, Instrument, load_instruments
from indexcalc.data.market import MarketData
from indexcalc.data.provenance import validate_provenance
from indexcalc.data.validate import validate_held, validate_inflation, validate_macro, validate_prices, validate_rates
from indexcalc.errors import DataError

PRICE_FILE_SUFFIXES = (".csv", ".parquet")
INSTRUMENTS_FILE = "instruments.toml"
CSV_FIRST_ROW = 2
"""Row number of a CSV file's first data row (the header is row 1)."""
PARQUET_FIRST_ROW = 1


def read_long(path: Path | str, *, not_after: dt.date | None = None) -> MarketData:
    """Read and validate a long-format market (a prices file or a directory, see module doc);
    a row of any file dated after ``not_after`` (the run's clock) is refused."""
    path = Path(path)
    if not path.exists():
        raise DataError("no such file or directory", file=str(path))
    if path.is_dir():
        return _read_directory(path, not_after)
    instruments = load_instruments(DEFAULT_INSTRUMENTS_PATH)
    return MarketData(prices=_read_prices(path, instruments, not_after), instruments=instruments, source=str(path))


def read_table(path: Path) -> tuple[pl.DataFrame, int]:
    """One input file as a frame plus the file row number of its first data row.

    CSV cells are read as text (no type inference), so validation can quote a bad cell as it
    was written; Parquet columns keep their stored types.
    """
    if path.suffix not in PRICE_FILE_SUFFIXES:
        raise DataError(f"unknown file type {path.suffix!r} (expected .csv or .parquet)", file=str(path))
    if not path.is_file():
        raise DataError("no such file", file=str(path))
    if path.suffix == ".csv":
        return _without_trailing_blank_lines(read_csv_text(path)), CSV_FIRST_ROW
    try:
        return pl.read_parquet(path), PARQUET_FIRST_ROW
    except (pl.exceptions.PolarsError, OSError) as error:
        raise DataError(f"not a readable Parquet file ({_first_line(error)})", file=str(path)) from None


def read_csv_text(path: Path) -> pl.DataFrame:
    """A CSV file with every cell as text; a file without a header or that polars cannot parse is
    a DataError naming the file."""
    try:
        return pl.read_csv(path, infer_schema=False)
    except pl.exceptions.NoDataError:
        raise DataError("empty file (no header, no data rows)", file=str(path)) from None
    except pl.exceptions.PolarsError as error:
        ragged = _first_ragged_row(path)
        if ragged is not None:
            row, fields, columns = ragged
            raise DataError(
                f"{fields} fields where the header has {columns} (a decimal comma? write 61.18, not 61,18)",
                file=str(path),
                key=f"row {row}",
            ) from None
        raise DataError(f"not a readable CSV ({_first_line(error)})", file=str(path)) from None


def _first_ragged_row(path: Path) -> tuple[int, int, int] | None:
    """The first row (header = row 1) with more fields than the header, its field count and the
    header's; None when there is none. Error path only: the file is read again line by line."""
    try:
        with path.open(newline="", encoding="utf-8", errors="replace") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                return None
            for row, fields in enumerate(reader, start=CSV_FIRST_ROW):
                if len(fields) > len(header):
                    return row, len(fields), len(header)
    except (OSError, csv.Error):
        return None
    return None


def write_long(market: MarketData, directory: Path | str) -> list[Path]:
    """Write ``market`` as a long-format directory (Parquet frames + ``instruments.toml``).

    Each file is written to a temporary name in ``directory`` and renamed into place, so a
    reader never sees a half-written file. Empty reference frames are not written; ``held`` only
    when present. Returns the paths written.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    frames = {
        "prices": market.prices,
        "rates": market.rates,
        "inflation": market.inflation,
        "macro": market.macro,
        "held": market.held,
        "provenance": market.provenance,
    }
    written = []
    for stem, frame in frames.items():
        if frame is None or (stem != "prices" and frame.height == 0):
            continue
        written.append(write_frame(frame, directory / f"{stem}.parquet"))
    instruments_path = directory / INSTRUMENTS_FILE
    text = instruments_toml(market.instruments)
    atomic_write(instruments_path, lambda temporary: temporary.write_text(text))
    written.append(instruments_path)
    return written


def write_frame(frame: pl.DataFrame, path: Path | str) -> Path:
    """Write one frame to ``.csv`` or ``.parquet`` atomically (temporary file + rename)."""
    path = Path(path)
    if path.suffix == ".csv":
        atomic_write(path, lambda temporary: frame.write_csv(temporary))
    elif path.suffix == ".parquet":
        atomic_write(path, lambda temporary: frame.write_parquet(temporary))
    else:
        raise DataError(f"unknown file type {path.suffix!r} (expected .csv or .parquet)", file=str(path))
    return path


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Call ``write`` on a temporary file beside ``path``, then rename it onto ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # A fresh unique name, created by the writer itself so it gets the usual permissions.
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def instruments_toml(instruments: dict[str, Instrument]) -> str:
    """The ``[[instrument]]`` TOML that :func:`load_instruments` reads back to equal models."""
    blocks = []
    for root in sorted(instruments):
        fields = instruments[root].model_dump(exclude_none=True)
        lines = ["[[instrument]]"] + [f"{name} = {_toml_value(value)}" for name, value in fields.items()]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


# --- reading a directory ---------------------------------------------------------------------


def _read_directory(directory: Path, not_after: dt.date | None = None) -> MarketData:
    instruments_path = directory / INSTRUMENTS_FILE
    instruments = load_instruments(instruments_path if instruments_path.is_file() else DEFAULT_INSTRUMENTS_PATH)
    prices_path = _find(directory, "prices")
    if prices_path is None:
        raise DataError("no prices.csv or prices.parquet in this directory", file=str(directory))
    prices = _read_prices(prices_path, instruments, not_after)
    validators = {
        "rates": lambda frame, file, first_row: validate_rates(frame, file, first_row=first_row, not_after=not_after),
        "inflation": lambda frame, file, first_row: validate_inflation(
            frame, file, first_row=first_row, not_after=not_after
        ),
        "macro": lambda frame, file, first_row: validate_macro(frame, file, first_row=first_row, not_after=not_after),
        "held": lambda frame, file, first_row: validate_held(
            frame, instruments, file, first_row=first_row, not_after=not_after
        ),
        "provenance": lambda frame, file, first_row: validate_provenance(frame, file, first_row=first_row),
    }
    frames = {}
    for stem, validator in validators.items():
        path = _find(directory, stem)
        if path is not None:
            frame, first_row = read_table(path)
            frames[stem] = validator(frame, str(path), first_row)
            if stem == "held":
                _refuse_roots_without_held(prices, frames[stem], str(path))
    return MarketData(prices=prices, instruments=instruments, source=str(directory), **frames)


def _read_prices(path: Path, instruments: dict[str, Instrument], not_after: dt.date | None = None) -> pl.DataFrame:
    frame, first_row = read_table(path)
    return validate_prices(frame, instruments, str(path), first_row=first_row, not_after=not_after)


def _refuse_roots_without_held(prices: pl.DataFrame, held: pl.DataFrame, file: str) -> None:
    """A held file names the held contract of every root with prices (the data roll follows it;
    a root it leaves out would silently have no series): the first root missing is a DataError
    naming the held file."""
    missing = sorted(set(prices.get_column("root").unique().to_list()) - set(held.get_column("root").unique().to_list()))
    if missing:
        raise DataError(
            f"no held contract for root {missing[0]}, which has prices (the held file must cover every root: "
            f"missing {', '.join(missing)})",
            file=file,
            key=f"root {missing[0]}",
        )


def _find(directory: Path, stem: str) -> Path | None:
    """``stem.csv`` or ``stem.parquet`` in ``directory`` (both present is ambiguous: an error)."""
    candidates = [directory / f"{stem}{suffix}" for suffix in PRICE_FILE_SUFFIXES]
    found = [path for path in candidates if path.is_file()]
    if len(found) > 1:
        raise DataError(f"both {found[0].name} and {found[1].name} present; keep one", file=str(directory))
    return found[0] if found else None


def _without_trailing_blank_lines(frame: pl.DataFrame) -> pl.DataFrame:
    """Drop blank lines at the end of a CSV (editors add them); blank lines inside stay, so
    row numbers are unchanged and validation reports them."""
    filled = frame.select(pl.any_horizontal(pl.all().is_not_null()).arg_true().max()).item()
    return frame.head(0 if filled is None else filled + 1)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    # TOML basic strings accept JSON string escapes.
    return json.dumps(str(value), ensure_ascii=False)


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
