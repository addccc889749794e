"""The validation engine (docs/design.md section 1, "Validation happens once, at the edge"):
columns parsed from text or typed input, vectorised row checks, the duplicate-key check and
the one-line error naming the first offending row.

A :class:`Check` is a mask over the whole frame; :func:`validate_frame` evaluates every mask in
one pass and raises a :class:`~indexcalc.errors.DataError` at the first offending row in file
order: ``row N`` as numbered in the user's file (for a CSV the header is row 1, so the first
data row is row 2) or, for frames that do not map row by row onto a file, the key
(``root X contract Y date D``). The checks of each market frame are in
:mod:`indexcalc.data.validate`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import polars as pl

from indexcalc.errors import DataError


DATE_FORMAT = "%Y-%m-%d"
"""Dates in files are ISO calendar dates."""


FIRST_CONTRACT_YEAR = 1900


LAST_CONTRACT_YEAR = 2199
"""Delivery years accepted in a ``YYYYMM`` contract (guards against ``YYYYMMDD`` or typos)."""


Kind = Literal["date", "text", "contract", "number"]


_LABEL_ORDER = ("root", "series", "contract", "date")


_DUPLICATE_ORDER = ("date", "series", "root", "contract")


_KEY = "__sort_key"


@dataclass(frozen=True)
class Column:
    """How one column of an input file is parsed and checked."""

    name: str
    kind: Kind
    required: bool = True
    nullable: bool = False
    positive: bool = False
    non_negative: bool = False


@dataclass(frozen=True)
class Check:
    """One vectorised row check: ``mask`` is True on offending rows; ``message`` formats the
    problem from the offending row (a dict of the frame's values on that row)."""

    name: str
    mask: pl.Expr
    message: Callable[[dict], str]


def first_offence(frame: pl.DataFrame, checks: list[Check]) -> tuple[int, str] | None:
    """The first offending row of ``frame`` over all ``checks`` (ties: the earlier check) and
    its problem, or None. One pass: every mask is evaluated in a single ``select``."""
    if not checks:
        return None
    firsts = frame.select(check.mask.arg_true().first().alias(str(index)) for index, check in enumerate(checks)).row(0)
    offending = [(row, index) for index, row in enumerate(firsts) if row is not None]
    if not offending:
        return None
    row, index = min(offending)
    return row, checks[index].message(frame.row(row, named=True))


def future_date_check(not_after: dt.date) -> Check:
    """A row dated after ``not_after`` (the run's clock: today, or the run's date) is refused:
    a future-dated price would become a permanent published level."""
    return Check(
        "future date",
        pl.col("date") > not_after,
        lambda row: f"date {row['date']} is after {not_after} (the run's date): a future-dated row",
    )


def validate_frame(
    frame: pl.DataFrame,
    columns: tuple[Column, ...],
    keys: tuple[str, ...],
    file: str,
    first_row: int | None,
    extra_checks: list[Check],
    not_after: dt.date | None = None,
) -> pl.DataFrame:
    """Parse ``columns``, run the column checks, the future-date check (a date after
    ``not_after``) and ``extra_checks`` (on parsed values), then the duplicate-key check; return
    the parsed frame sorted by ``keys``."""
    if frame.height == 0:
        raise DataError("empty file (no data rows)", file=file)
    missing = [column.name for column in columns if column.required and column.name not in frame.columns]
    if missing:
        required = ", ".join(column.name for column in columns if column.required)
        problem = f"missing required column(s) {', '.join(missing)} (required: {required})"
        raise DataError(problem, file=file, key="columns")

    raw = frame.select(
        (pl.col(column.name) if column.name in frame.columns else pl.lit(None, dtype=pl.String)).alias(column.name)
        for column in columns
    )
    parsed = raw.select(parse_column(column, raw.schema[column.name]) for column in columns)
    checks = [check for column in columns for check in _column_checks(column, raw.schema[column.name])]
    if not_after is not None:
        checks.append(future_date_check(not_after))
    checks += extra_checks

    # Raw values are needed by the masks (e.g. "present but unparseable"): give them a prefix;
    # the blank-row check looks at every column of the input.
    both = pl.concat(
        [
            parsed,
            raw.rename({name: f"raw_{name}" for name in raw.columns}),
            frame.select(name for name in frame.columns if name not in raw.columns),
        ],
        how="horizontal",
    )
    blank = Check(
        "blank",
        pl.all_horizontal(pl.col(name if name not in raw.columns else f"raw_{name}").is_null() for name in frame.columns),
        lambda row: "empty row",
    )
    offence = first_offence(both, [blank] + checks)
    if offence is not None:
        _raise_at(both, offence[0], offence[1], file, first_row, keys)

    key = _sorted_key(parsed, keys)
    ordered = parsed.with_columns(key.alias(_KEY))
    if not key.is_sorted():
        ordered = ordered.sort(_KEY)
    if (ordered.get_column(_KEY).diff() == 0).any():
        # Error path only: the first row (in file order) whose key occurred on an earlier row.
        row = int(key.is_first_distinct().not_().arg_true()[0])
        earlier = _first_row_with_key(parsed, keys, row)
        where = ", ".join(sorted(keys, key=_DUPLICATE_ORDER.index))
        if first_row is None:
            problem = f"duplicated ({where}) row"
        else:
            problem = f"duplicated ({where}): same as row {earlier + first_row}"
        _raise_at(both, row, problem, file, first_row, keys)
    return ordered.drop(_KEY)


def parse_column(column: Column, dtype: pl.DataType) -> pl.Expr:
    """The typed value of a column (null where missing or unparseable)."""
    expr = pl.col(column.name)
    if column.kind == "date":
        if dtype == pl.Date:
            return expr
        if isinstance(dtype, pl.Datetime):
            return expr.dt.date()
        return expr.cast(pl.String).str.to_date(DATE_FORMAT, strict=False)
    if column.kind == "text":
        return expr.cast(pl.String)
    if column.kind == "contract":
        if dtype.is_integer():
            return expr.cast(pl.Int64)
        if dtype.is_float():
            return pl.when(expr == expr.floor()).then(expr.cast(pl.Int64, strict=False))
        return expr.cast(pl.String).cast(pl.Int64, strict=False)
    return expr.cast(pl.Float64, strict=False)


def _column_checks(column: Column, dtype: pl.DataType) -> list[Check]:
    """Missing, unparseable and out-of-range values of one column."""
    name, raw = column.name, pl.col(f"raw_{column.name}")
    value = pl.col(name)
    # CSV readers give empty cells as null; any other text (even blank) is "present" and
    # then fails to parse with a message that quotes it.
    present = raw.is_not_null()
    checks: list[Check] = []
    if not column.nullable:
        checks.append(Check(f"missing {name}", ~present, lambda row: f"missing {name}"))
    if column.kind == "date":
        checks.append(
            Check(
                "date",
                present & value.is_null(),
                lambda row: f"unparseable date {row[f'raw_{name}']!r} (expected YYYY-MM-DD)",
            )
        )
    elif column.kind == "contract":
        year, month = value // 100, value % 100
        bad = value.is_null() | ~year.is_between(FIRST_CONTRACT_YEAR, LAST_CONTRACT_YEAR) | ~month.is_between(1, 12)
        checks.append(
            Check(
                "contract",
                present & bad,
                lambda row: f"contract {row[f'raw_{name}']!r} is not a delivery month YYYYMM",
            )
        )
    elif column.kind == "number":
        checks.append(
            Check(
                "number",
                present & (value.is_null() | ~value.is_finite()),
                lambda row: f"{name} {row[f'raw_{name}']!r} is not a number",
            )
        )
        if column.positive:
            checks.append(
                Check(
                    "positive",
                    value.is_finite() & (value <= 0),
                    lambda row: f"{name} {row[f'raw_{name}']} is not positive",
                )
            )
        if column.non_negative:
            checks.append(
                Check(
                    "non-negative",
                    value.is_finite() & (value < 0),
                    lambda row: f"{name} {row[f'raw_{name}']} is negative",
                )
            )
    return checks


def _text_codes(parsed: pl.DataFrame, name: str) -> pl.Expr:
    """Text keys as integers that sort like the text (codes of a sorted Enum)."""
    values = sorted(value for value in parsed.get_column(name).unique().to_list() if value is not None)
    return pl.col(name).cast(pl.Enum(values)).to_physical().cast(pl.Int64)


def _sorted_key(parsed: pl.DataFrame, keys: tuple[str, ...]) -> pl.Series:
    """One Int64 per row that sorts like ``keys`` (text codes, days since 1970, contract)."""
    # Field widths: contract YYYYMM < 10^6; days + offset < 10^6 (years ~ -700 to 4700);
    # text codes < 10^6 distinct values. At most three fields, so the key stays below 9.2e18.
    offset_days = 500_000
    key = pl.lit(0, dtype=pl.Int64)
    for name in keys:
        dtype = parsed.schema[name]
        if dtype == pl.Date:
            field = pl.col(name).cast(pl.Int64) + offset_days
        elif dtype == pl.String:
            field = _text_codes(parsed, name)
        else:
            field = pl.col(name).cast(pl.Int64)
        key = key * 1_000_000 + field
    return parsed.select(key.alias("key")).get_column("key")


def label_order(keys: tuple[str, ...]) -> list[str]:
    """Key columns in the order errors name them (``root X contract Y date D``)."""
    return sorted(keys, key=_LABEL_ORDER.index)


def _first_row_with_key(parsed: pl.DataFrame, keys: tuple[str, ...], row: int) -> int:
    values = parsed.row(row, named=True)
    same = pl.all_horizontal(pl.col(name) == values[name] for name in keys)
    return int(parsed.select(same.arg_true().first()).item())


def _raise_at(
    frame: pl.DataFrame, row: int, problem: str, file: str, first_row: int | None, keys: tuple[str, ...]
) -> None:
    if first_row is not None:
        raise DataError(problem, file=file, key=f"row {row + first_row}")
    values = frame.row(row, named=True)
    key = " ".join(f"{name} {values[name]}" for name in label_order(keys))
    raise DataError(problem, file=file, key=key)
