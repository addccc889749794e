"""Validation at the edge: raw frames from any importer -> typed, checked market frames.

docs/design.md section 1 ("Validation happens once, at the edge"). This module holds what
each market frame (prices, rates, inflation, macro series, held contracts) must satisfy: its
columns, its checks, the sane bounds of prices and future dates. Every check is a vectorised
mask over the whole frame; the first offending row (in file order) raises one
:class:`~indexcalc.errors.DataError` naming the file, the row or the key, and the problem (the
engine: :mod:`indexcalc.data.row_checks`).

Input columns may be strings (CSV read without type inference, so that a bad cell can be
reported as it was written) or already typed (Parquet, importers). Output frames follow the
schemas of :mod:`indexcalc.data.market` and are sorted by their keys.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from indexcalc.data.instruments import MONTH_CODES, Instrument
from indexcalc.data.market import HELD_SCHEMA, INFLATION_SCHEMA, MACRO_SCHEMA, PRICES_SCHEMA, RATES_SCHEMA
from indexcalc.data.row_checks import Check, Column, label_order, parse_column, validate_frame
from indexcalc.errors import DataError

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
    typed = validate_frame(frame, PRICE_COLUMNS, ("root", "date", "contract"), file, first_row, root_checks, not_after)
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
    typed = validate_frame(frame, RATES_COLUMNS, ("date",), file, first_row, checks, not_after)
    return typed.select(pl.col(name).cast(dtype) for name, dtype in RATES_SCHEMA.items())


def validate_inflation(
    frame: pl.DataFrame, file: str, *, first_row: int | None = 2, not_after: dt.date | None = None
) -> pl.DataFrame:
    """Check ``date, cpi`` (CPI level, positive; date = release date); one row per date."""
    typed = validate_frame(frame, INFLATION_COLUMNS, ("date",), file, first_row, [], not_after)
    return typed.select(pl.col(name).cast(dtype) for name, dtype in INFLATION_SCHEMA.items())


def validate_macro(
    frame: pl.DataFrame, file: str, *, first_row: int | None = 2, not_after: dt.date | None = None
) -> pl.DataFrame:
    """Check ``date, series, value`` (long form, date = day known); one row per (series, date)."""
    typed = validate_frame(frame, MACRO_COLUMNS, ("series", "date"), file, first_row, [], not_after)
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
    typed = validate_frame(frame, HELD_COLUMNS, ("root", "date"), file, first_row, checks, not_after)
    return typed.select(pl.col(name).cast(dtype) for name, dtype in HELD_SCHEMA.items())


# --- future dates and sane bounds (docs/design.md section 1) -----------------------------------


def refuse_future_rows(frame: pl.DataFrame, not_after: dt.date, file: str, keys: tuple[str, ...]) -> None:
    """The same refusal for an already validated frame whose rows have no file position (an
    importer's or the embedded market's): the first offending row by ``keys`` order."""
    late = frame.filter(pl.col("date") > not_after)
    if late.height:
        values = late.sort(list(keys)).row(0, named=True)
        key = " ".join(f"{name} {values[name]}" for name in label_order(keys))
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
            parse_column(Column(name, kind), frame.schema[name])
            for name, kind in (("date", "date"), ("root", "text"), ("contract", "contract"))
        )
        same = (pl.col("date") == row["date"]) & (pl.col("root") == row["root"]) & (pl.col("contract") == row["contract"])
        position = keys.select(same.arg_true().first()).item()
        if position is not None:
            raise DataError(problem, file=file or None, key=f"row {position + first_row}")
    raise DataError(problem, file=file or None, key=f"root {row['root']} contract {row['contract']} date {row['date']}")


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
