"""Validation at the edge: raw frames from any importer -> typed, checked market frames.

docs/design.md section 1 ("Validation happens once, at the edge"). Every check is a vectorised
mask over the whole frame; the first offending row (in file order) raises one
:class:`~indexcalc.errors.DataError` naming the file, the row (``row N``, as numbered in the
user's file: for a CSV the header is row 1, so the first data row is row 2) or, for frames that
do not map row by row onto a file, the key (``root X contract Y date D``), and the problem.

Input columns may be strings (CSV read without type inference, so that a bad cell can be
reported as it was written) or already typed (Parquet, importers). Output frames follow the
schemas of :mod:`indexcalc.data.market` and are sorted by their keys.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import polars as pl

from indexcalc.data.instruments import MONTH_CODES, Instrument
from indexcalc.data.market import HELD_SCHEMA, INFLATION_SCHEMA, MACRO_SCHEMA, PRICES_SCHEMA, RATES_SCHEMA
from indexcalc.errors import DataError

DATE_FORMAT = "%Y-%m-%d"
"""Dates in files are ISO calendar dates."""

FIRST_CONTRACT_YEAR = 1900
LAST_CONTRACT_YEAR = 2199
"""Delivery years accepted in a ``YYYYMM`` contract (guards against ``YYYYMMDD`` or typos)."""

MAX_TBILL_FRACTION = 1.0
"""A T-bill yield at or above 100% is a percentage written where a fraction is expected."""

MAX_ABS_SETTLE = 1e7
"""Default sane bound of a settlement's magnitude: |settle| <= 1e7 (quoted units)."""

MIN_ABS_SETTLE = 1e-6
"""Default smallest magnitude of a non-zero settlement: 0 < |settle| < 1e-6 is a unit or
exponent error (zero itself is a price, see docs/design.md section 2)."""

MAX_DAILY_MOVE = 10.0
"""Default bound of one contract's move between its consecutive settlements:
|F_t - F_prev| <= 10 x |F_prev| (1,000%; WTI May 2020 moved 306% on 20 April 2020)."""

MAX_VOLUME = 1e9
MAX_OPEN_INTEREST = 1e9
"""Default sane bounds of a day's volume and open interest (contracts)."""

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


PRICE_COLUMNS = (
    Column("date", "date"),
    Column("root", "text"),
    Column("contract", "contract"),
    Column("settle", "number"),
    Column("volume", "number", required=False, nullable=True, non_negative=True),
    Column("open_interest", "number", required=False, nullable=True, non_negative=True),
)
RATES_COLUMNS = (Column("date", "date"), Column("tbill", "number"))
INFLATION_COLUMNS = (Column("date", "date"), Column("cpi", "number", positive=True))
MACRO_COLUMNS = (Column("date", "date"), Column("series", "text"), Column("value", "number"))
HELD_COLUMNS = (Column("date", "date"), Column("root", "text"), Column("contract", "contract"))


def validate_prices(
    frame: pl.DataFrame,
    instruments: dict[str, Instrument],
    file: str,
    *,
    first_row: int | None = 2,
    not_after: dt.date | None = None,
) -> pl.DataFrame:
    """Check a contract-price frame and return it typed (``PRICES_SCHEMA``), sorted by
    root, date, contract.

    ``first_row`` is the file row number of the frame's first row (2 for a CSV with a header,
    1 for Parquet); ``None`` names offending rows by their key instead. Errors, first offending
    row first: empty file, missing required columns, unparseable or missing dates, dates after
    ``not_after`` (the run's clock), missing or unknown roots, contracts that are not ``YYYYMM``
    or whose month is not a listed month of the root, missing/non-numeric settle, non-numeric or
    negative volume or open interest, values outside the root's sane bounds
    (:func:`price_bounds`), duplicated (date, root, contract); then a contract's move between
    consecutive settlements above the bound (:func:`check_daily_moves`). Zero and negative
    settlements are data (docs/design.md section 2).
    """
    listed_mask = {root: _month_bitmask(instrument.listed_month_numbers) for root, instrument in instruments.items()}
    root_checks = [
        Check(
            "unknown root",
            pl.col("root").is_not_null() & ~pl.col("root").is_in(list(instruments)),
            lambda row: f"unknown root {row['root']!r} (not in the instruments)",
        ),
        Check(
            "unlisted month",
            pl.col("contract").is_not_null()
            & pl.col("root").is_in(list(instruments))
            & ~_month_is_listed(pl.col("root"), pl.col("contract"), listed_mask),
            lambda row: _unlisted_message(row, instruments),
        ),
    ]
    root_checks += bound_checks(instruments)
    typed = _validate(frame, PRICE_COLUMNS, ("root", "date", "contract"), file, first_row, root_checks, not_after)
    typed = typed.select(pl.col(name).cast(dtype) for name, dtype in PRICES_SCHEMA.items())
    check_daily_moves(typed, instruments, frame, file, first_row)
    return typed


def validate_rates(
    frame: pl.DataFrame, file: str, *, first_row: int | None = 2, not_after: dt.date | None = None
) -> pl.DataFrame:
    """Check ``date, tbill`` (3-month T-bill discount yield as a fraction); one row per date."""
    checks = [
        Check(
            "percentage",
            pl.col("tbill").abs() >= MAX_TBILL_FRACTION,
            lambda row: f"tbill {row['raw_tbill']} is not a fraction (write 5% as 0.05)",
        )
    ]
    typed = _validate(frame, RATES_COLUMNS, ("date",), file, first_row, checks, not_after)
    return typed.select(pl.col(name).cast(dtype) for name, dtype in RATES_SCHEMA.items())


def validate_inflation(
    frame: pl.DataFrame, file: str, *, first_row: int | None = 2, not_after: dt.date | None = None
) -> pl.DataFrame:
    """Check ``date, cpi`` (CPI level, positive; date = release date); one row per date."""
    typed = _validate(frame, INFLATION_COLUMNS, ("date",), file, first_row, [], not_after)
    return typed.select(pl.col(name).cast(dtype) for name, dtype in INFLATION_SCHEMA.items())


def validate_macro(
    frame: pl.DataFrame, file: str, *, first_row: int | None = 2, not_after: dt.date | None = None
) -> pl.DataFrame:
    """Check ``date, series, value`` (long form, date = day known); one row per (series, date)."""
    typed = _validate(frame, MACRO_COLUMNS, ("series", "date"), file, first_row, [], not_after)
    return typed.select(pl.col(name).cast(dtype) for name, dtype in MACRO_SCHEMA.items())


def validate_held(
    frame: pl.DataFrame,
    instruments: dict[str, Instrument],
    file: str,
    *,
    first_row: int | None = 2,
    not_after: dt.date | None = None,
) -> pl.DataFrame:
    """Check ``date, root, contract`` (the vendor's held contract); one row per (root, date)."""
    checks = [
        Check(
            "unknown root",
            pl.col("root").is_not_null() & ~pl.col("root").is_in(list(instruments)),
            lambda row: f"unknown root {row['root']!r} (not in the instruments)",
        )
    ]
    typed = _validate(frame, HELD_COLUMNS, ("root", "date"), file, first_row, checks, not_after)
    return typed.select(pl.col(name).cast(dtype) for name, dtype in HELD_SCHEMA.items())


# --- future dates and sane bounds (docs/design.md section 1) -----------------------------------


def future_date_check(not_after: dt.date) -> Check:
    """A row dated after ``not_after`` (the run's clock: today, or the run's date) is refused:
    a future-dated price would become a permanent published level."""
    return Check(
        "future date",
        pl.col("date") > not_after,
        lambda row: f"date {row['date']} is after {not_after} (the run's date): a future-dated row",
    )


def refuse_future_rows(frame: pl.DataFrame, not_after: dt.date, file: str, keys: tuple[str, ...]) -> None:
    """The same refusal for an already validated frame whose rows have no file position (an
    importer's or the embedded market's): the first offending row by ``keys`` order."""
    late = frame.filter(pl.col("date") > not_after)
    if late.height:
        values = late.sort(list(keys)).row(0, named=True)
        key = " ".join(f"{name} {values[name]}" for name in _label_order(keys))
        raise DataError(f"date {values['date']} is after {not_after} (the run's date): a future-dated row", file=file, key=key)


@dataclass(frozen=True)
class PriceBounds:
    """Sane bounds of one root's price rows; each an ``Instrument`` field that overrides the
    default (``max_abs_settle`` ... in instruments.toml)."""

    max_abs_settle: float = MAX_ABS_SETTLE
    min_abs_settle: float = MIN_ABS_SETTLE
    max_daily_move: float = MAX_DAILY_MOVE
    max_volume: float = MAX_VOLUME
    max_open_interest: float = MAX_OPEN_INTEREST


def price_bounds(instrument: Instrument) -> PriceBounds:
    """The root's bounds: its instrument's overrides, the defaults elsewhere."""
    overrides = {
        name: value
        for name in PriceBounds.__dataclass_fields__
        if (value := getattr(instrument, name, None)) is not None
    }
    return PriceBounds(**overrides)


def _per_root(instruments: dict[str, Instrument], name: str) -> pl.Expr:
    """The bound ``name`` of each row's root (the default for an unknown root); a constant when
    no instrument overrides it (the usual case: no per-row lookup)."""
    default = float(getattr(PriceBounds(), name))
    values = {root: float(getattr(price_bounds(instrument), name)) for root, instrument in instruments.items()}
    if all(value == default for value in values.values()):
        return pl.lit(default, dtype=pl.Float64)
    return pl.col("root").replace_strict(values, default=default, return_dtype=pl.Float64)


def bound_checks(instruments: dict[str, Instrument]) -> list[Check]:
    """Settle, volume and open interest outside the root's sane bounds (per row, vectorised):
    |settle| > max_abs_settle, 0 < |settle| < min_abs_settle, volume > max_volume,
    open_interest > max_open_interest."""

    def bounds(row: dict) -> PriceBounds:
        instrument = instruments.get(row["root"])
        return PriceBounds() if instrument is None else price_bounds(instrument)

    settle = pl.col("settle").abs()
    return [
        Check(
            "settle too large",
            pl.col("settle").is_finite() & (settle > _per_root(instruments, "max_abs_settle")),
            lambda row: f"settle {row['raw_settle']} of root {row['root']} is outside the sane bounds "
            f"(|settle| <= {bounds(row).max_abs_settle:g}; max_abs_settle in instruments.toml)",
        ),
        Check(
            "settle too small",
            pl.col("settle").is_finite() & (settle > 0) & (settle < _per_root(instruments, "min_abs_settle")),
            lambda row: f"settle {row['raw_settle']} of root {row['root']} is outside the sane bounds "
            f"(0 or |settle| >= {bounds(row).min_abs_settle:g}; min_abs_settle in instruments.toml)",
        ),
        Check(
            "volume too large",
            pl.col("volume").is_finite() & (pl.col("volume") > _per_root(instruments, "max_volume")),
            lambda row: f"volume {row['raw_volume']} of root {row['root']} is outside the sane bounds "
            f"(<= {bounds(row).max_volume:g}; max_volume in instruments.toml)",
        ),
        Check(
            "open interest too large",
            pl.col("open_interest").is_finite() & (pl.col("open_interest") > _per_root(instruments, "max_open_interest")),
            lambda row: f"open_interest {row['raw_open_interest']} of root {row['root']} is outside the sane bounds "
            f"(<= {bounds(row).max_open_interest:g}; max_open_interest in instruments.toml)",
        ),
    ]


def check_daily_moves(
    prices: pl.DataFrame,
    instruments: dict[str, Instrument],
    frame: pl.DataFrame | None = None,
    file: str = "",
    first_row: int | None = None,
) -> None:
    """Refuse a contract whose settlement moves more than the root's ``max_daily_move`` between
    two consecutive settlements of that contract::

        |F_t - F_prev| > max_daily_move * |F_prev|      (F_prev != 0)

    ``prices``: validated (``PRICES_SCHEMA``, sorted by root, date, contract, so each contract's
    rows are in date order). The error names the earliest such move (date, root, contract), as
    file row of ``frame`` (the raw input, first data row ``first_row``) where there is one, else
    by key."""
    if prices.height < 2:
        return
    roots = prices.get_column("root").unique().sort().to_list()
    contract_key = pl.col("root").cast(pl.Enum(roots)).to_physical().cast(pl.Int64) * 1_000_000 + pl.col("contract")
    # the previous settle of the same contract: one window pass over an integer key
    steps = prices.select("root", "settle", contract_key.alias("contract_key")).with_columns(
        pl.col("settle").shift(1).over("contract_key").alias("previous")
    )
    previous = pl.col("previous")
    too_far = (previous != 0) & ((pl.col("settle") - previous).abs() > _per_root(instruments, "max_daily_move") * previous.abs())
    offending = steps.select(too_far.fill_null(False).alias("too_far")).get_column("too_far")
    if not offending.any():
        return
    # error path: the moves with their previous settle and date, earliest first
    moves = prices.filter(offending).with_columns(steps.get_column("previous").filter(offending).alias("previous"))
    previous_dates = prices.select(pl.col("date").shift(1).over(contract_key)).to_series().filter(offending)
    moves = moves.with_columns(previous_dates.alias("previous_date"))
    row = moves.sort("date", "root", "contract").row(0, named=True)
    bound = price_bounds(instruments[row["root"]]).max_daily_move if row["root"] in instruments else MAX_DAILY_MOVE
    move = (row["settle"] - row["previous"]) / abs(row["previous"])
    problem = (
        f"settle {row['settle']:g} of root {row['root']} contract {row['contract']} moved {move:+.0%} from "
        f"{row['previous']:g} on {row['previous_date']}, outside the sane bound of {bound:.0%} a day "
        f"(max_daily_move in instruments.toml)"
    )
    if frame is not None and first_row is not None:
        keys = frame.select(
            _parse(Column(name, kind), frame.schema[name])
            for name, kind in (("date", "date"), ("root", "text"), ("contract", "contract"))
        )
        same = (pl.col("date") == row["date"]) & (pl.col("root") == row["root"]) & (pl.col("contract") == row["contract"])
        position = keys.select(same.arg_true().first()).item()
        if position is not None:
            raise DataError(problem, file=file or None, key=f"row {position + first_row}")
    raise DataError(problem, file=file or None, key=f"root {row['root']} contract {row['contract']} date {row['date']}")


# --- the engine -------------------------------------------------------------------------------


def _validate(
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
    parsed = raw.select(_parse(column, raw.schema[column.name]) for column in columns)
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


def _parse(column: Column, dtype: pl.DataType) -> pl.Expr:
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


def _month_bitmask(months: tuple[int, ...]) -> int:
    """Bit m-1 set for every listed month m (so a root's months are one integer)."""
    return sum(1 << (month - 1) for month in set(months))


def _month_is_listed(root: pl.Expr, contract: pl.Expr, listed_mask: dict[str, int]) -> pl.Expr:
    mask = root.replace_strict(listed_mask, default=0, return_dtype=pl.Int64)
    month = (contract % 100).clip(1, 12).cast(pl.Int64)
    return (mask // pl.lit(2, dtype=pl.Int64).pow(month - 1)) % 2 == 1


def _unlisted_message(row: dict, instruments: dict[str, Instrument]) -> str:
    contract = int(row["contract"])
    listed = instruments[row["root"]].listed_months
    return (
        f"contract {contract} of root {row['root']}: month {MONTH_CODES[contract % 100 - 1]} "
        f"is not a listed month (listed: {listed})"
    )


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


def _label_order(keys: tuple[str, ...]) -> list[str]:
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
    key = " ".join(f"{name} {values[name]}" for name in _label_order(keys))
    raise DataError(problem, file=file, key=key)
