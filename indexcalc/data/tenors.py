"""Importer for generic-tenor settlement files, the shape vendors deliver (docs/design.md section 1).

A tenor file is ``date, series, value``: ``series`` is a prefix and a tenor number (``CL01`` ..
``CL36``, ``BRN01``, ``NG01``), ``value`` the exchange settlement of that tenor on ``date``. An
expiry calendar (``cmdty, Last.Trade, Year, Month`` per listed contract, as in
``contract_expiries.csv``) names the contracts:

    contract(prefix n, d) = the n-th listed contract of the prefix's expiry code, in last-trade
                            order, whose last trade date is on or after d

so on its last trade day a contract is still tenor 1. A date is covered when the calendar lists
a contract that expired before it (the calendar starts early enough to know which contract is
first) and at least n contracts expiring on or after it. An uncovered (series, date) is a
:class:`~indexcalc.errors.DataError` naming both. Which root and expiry code a prefix maps to is
configuration (:class:`TenorMapping`, a ``[[tenor]]`` TOML table); the defaults map CL, BRN and
NG to pysystemtrade's CRUDE_W, BRENT_W and GAS_US. Output prices have null volume and open
interest. Zero and negative settlements (WTI's May 2020 contract settled at -37.63) are prices,
as everywhere (docs/design.md section 2); a settlement dated on a day that is not a session of
the root's calendar would create a date of its own: it is left out and counted in
:class:`TenorImport`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from indexcalc.data.calendars import business_days
from indexcalc.data.instruments import MONTH_CODES, Instrument, Sector
from indexcalc.data.longformat import read_csv_text, read_table
from indexcalc.data.market import PRICES_SCHEMA, MarketData
from indexcalc.data.provenance import DEFAULT_RELATIVE_TOLERANCE, agrees
from indexcalc.data.validate import validate_macro, validate_prices
from indexcalc.data.tomlfile import read_toml
from indexcalc.errors import DataError, SpecError

CSV_FIRST_ROW = 2
EXPIRY_COLUMNS = ("cmdty", "Last.Trade", "Year", "Month")
"""Columns of the expiry calendar the importer reads (others are ignored)."""

MAX_MONTHLY_GAP_DAYS = 62
"""Longest span between the last trade dates of two consecutive monthly contracts (days)."""



class TenorMapping(BaseModel):
    """One series prefix of a tenor file: the root it prices and the expiry code naming its
    contracts; the instrument fields are used when no other source defines the root."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prefix: str = Field(pattern=r"^[A-Z]+$", description="series prefix, e.g. 'CL' for CL01..CL36")
    root: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    expiries: str = Field(min_length=1, description="expiry calendar code (cmdty column), e.g. 'cmewti'")
    name: str = ""
    sector: Sector = "energy"
    exchange: str = "unknown"
    calendar: str = Field("CMES", description="exchange_calendars code of the root's sessions")
    multiplier: float = Field(1.0, gt=0)
    hold_months: str | None = Field(None, description="held delivery months; default: every listed month")
    contracts: Literal["calendar", "consecutive"] = Field(
        "calendar", description="contract labels: the calendar's Year/Month, or consecutive months (listed_contracts)"
    )


DEFAULT_TENOR_MAPPINGS: tuple[TenorMapping, ...] = (
    TenorMapping(
        prefix="CL", root="CRUDE_W", expiries="cmewti", name="WTI crude oil", exchange="NYMEX", multiplier=1000.0
    ),
    TenorMapping(
        prefix="BRN",
        root="BRENT_W",
        expiries="icebrent",
        name="Brent crude oil",
        exchange="ICE Futures Europe",
        multiplier=1000.0,
        contracts="consecutive",
    ),
    TenorMapping(
        prefix="NG", root="GAS_US", expiries="cmeng", name="Henry Hub natural gas", exchange="NYMEX", multiplier=10000.0
    ),
)
"""CL -> CRUDE_W (cmewti), BRN -> BRENT_W (icebrent), NG -> GAS_US (cmeng): pysystemtrade's names.
icebrent's Year/Month labels are one month early from the contract expiring 2016-01-29 (ICE
moved Brent's expiry to the last business day of the second month before delivery) and repeat
from 2021, so Brent's contracts are numbered consecutively from its first listed contract.
Brent's calendar is CMES, not the London proxy XLON: ICE Futures Europe settles Brent on English
bank holidays (Easter Monday, May and August bank holidays, Boxing Day), which XLON closes (95
settlement days of the shared file 2007-2023 are not XLON sessions, 6 are not CMES sessions)."""


@dataclass(frozen=True)
class TenorImport:
    """A tenor file read into a market, with what the import left out."""

    market: MarketData
    non_session: pl.DataFrame
    """``date, root, series, value`` of the settlements left out because their date is not a session
    of the root's calendar (the market's dates stay sessions)."""


def load_tenor_mappings(path: Path | str) -> tuple[TenorMapping, ...]:
    """The ``[[tenor]]`` tables of a TOML file (fields of :class:`TenorMapping`)."""
    path = Path(path)
    raw = read_toml(path)
    tables = raw.get("tenor", [])
    if not isinstance(tables, list) or not tables:
        raise SpecError("no [[tenor]] tables (prefix, root, expiries)", file=str(path))
    mappings = []
    for index, table in enumerate(tables):
        try:
            mappings.append(TenorMapping(**table))
        except (ValidationError, TypeError) as error:
            problem = _first_problem(error)
            raise SpecError(problem, file=str(path), key=f"tenor {table.get('prefix', index + 1)}") from None
    return _unique_prefixes(tuple(mappings), str(path))


def read_expiry_calendar(path: Path | str) -> pl.DataFrame:
    """``code, contract, last_trade, row`` (contract ``YYYYMM`` Int32, ``row`` the file's row
    number) of an expiry calendar CSV with columns ``cmdty, Last.Trade, Year, Month``, in file
    order; an unreadable cell is a DataError naming its row. Labels are checked per expiry code
    by :func:`listed_contracts`, so a code no tenor uses cannot stop an import."""
    path = Path(path)
    if not path.is_file():
        raise DataError("no such file", file=str(path))
    raw = read_csv_text(path)
    missing = [column for column in EXPIRY_COLUMNS if column not in raw.columns]
    if missing:
        raise DataError(
            f"missing required column(s) {', '.join(missing)} (required: {', '.join(EXPIRY_COLUMNS)})",
            file=str(path),
            key="columns",
        )
    parsed = raw.select(
        pl.col("cmdty").alias("code"),
        pl.col("Last.Trade").str.to_date("%Y-%m-%d", strict=False).alias("last_trade"),
        (pl.col("Year").cast(pl.Int32, strict=False) * 100 + pl.col("Month").cast(pl.Int32, strict=False)).alias(
            "contract"
        ),
        pl.col("Month").cast(pl.Int32, strict=False).alias("month"),
        pl.int_range(CSV_FIRST_ROW, pl.len() + CSV_FIRST_ROW).alias("row"),
    )
    bad = parsed.filter(
        pl.col("code").is_null()
        | pl.col("last_trade").is_null()
        | pl.col("contract").is_null()
        | ~pl.col("month").is_between(1, 12)
    )
    if bad.height:
        row = bad.row(0, named=True)
        raw_row = raw.row(row["row"] - CSV_FIRST_ROW, named=True)
        cells = ", ".join(f"{column} {raw_row[column]!r}" for column in EXPIRY_COLUMNS)
        raise DataError(f"unreadable expiry row ({cells})", file=str(path), key=f"row {row['row']}")
    return parsed.select("code", "contract", "last_trade", "row")


def listed_contracts(calendar: pl.DataFrame, mapping: TenorMapping, file: str = "") -> pl.DataFrame:
    """``code, contract, last_trade, position`` of the mapping's expiry code in last-trade order
    (``position`` 0, 1, ...).

    ``contracts = "calendar"``: the calendar's Year/Month labels, which must rise strictly with
    the last trade date. ``contracts = "consecutive"`` (a code listing every month): one contract
    per distinct last trade date, the first labelled as in the calendar and each later one the
    next delivery month; consecutive last trade dates more than :data:`MAX_MONTHLY_GAP_DAYS`
    apart are a gap in the listing."""
    rows = calendar.filter(pl.col("code") == mapping.expiries)
    if rows.height == 0:
        return rows.select("code", "contract", "last_trade").with_columns(pl.lit(0, dtype=pl.Int64).alias("position"))
    if mapping.contracts == "consecutive":
        rows = rows.unique("last_trade", keep="first", maintain_order=True).sort("last_trade")
        gap = rows.filter(pl.col("last_trade").diff().dt.total_days() > MAX_MONTHLY_GAP_DAYS)
        if gap.height:
            row = gap.row(0, named=True)
            raise DataError(
                f"expiry code {mapping.expiries}: no contract listed in the {MAX_MONTHLY_GAP_DAYS} days before "
                f"last trade {row['last_trade']} (a monthly listing has a gap)",
                file=file or None,
                key=f"row {row['row']}",
            )
        first = rows.get_column("contract")[0]
        month_index = first // 100 * 12 + first % 100 - 1 + pl.int_range(pl.len())
        rows = rows.with_columns((month_index // 12 * 100 + month_index % 12 + 1).cast(pl.Int32).alias("contract"))
    else:
        rows = rows.sort("last_trade", "contract", maintain_order=True)
        backwards = rows.filter(pl.col("contract").diff() <= 0)
        if backwards.height:
            row = backwards.row(0, named=True)
            raise DataError(
                f"expiry code {mapping.expiries}: contract {row['contract']} (last trade {row['last_trade']}) does "
                "not come after the contract expiring before it; the Year/Month labels are inconsistent "
                '(contracts = "consecutive" numbers a monthly listing from its first contract)',
                file=file or None,
                key=f"row {row['row']}",
            )
    return rows.select("code", "contract", "last_trade", pl.int_range(pl.len()).alias("position"))


def read_tenor_settlements(path: Path | str) -> pl.DataFrame:
    """``date, series, value`` of a tenor CSV or Parquet file, typed and checked (dates, numbers,
    one row per (series, date)); sorted by series, date."""
    frame, first_row = read_table(Path(path))
    if "series" in frame.columns and frame.height:
        frame = frame.with_columns(pl.col("series").cast(pl.String))
    return validate_macro(frame, str(path), first_row=first_row)


def tenor_contracts(
    settlements: pl.DataFrame,
    expiries: pl.DataFrame,
    mappings: tuple[TenorMapping, ...],
    file: str = "",
    expiries_file: str = "",
) -> pl.DataFrame:
    """``date, root, contract, settle, series, tenor``: each settlement of ``settlements``
    (``date, series, value``) on the contract its tenor names on its date,

        contract(prefix n, d) = listed_contracts(prefix)[first + n - 1],
        first = position of the first listed contract with last_trade >= d,

    sorted by root, date, contract. DataError naming series and date: a series that is not
    PREFIX + number, a prefix without mapping, an expiry code the calendar does not list, a date
    the calendar does not cover (``first`` = 0, so an earlier contract may be missing, or fewer
    than ``first + n`` contracts listed)."""
    by_prefix = {mapping.prefix: mapping for mapping in _unique_prefixes(mappings, file)}
    split = _tenor_series(settlements, by_prefix, file)
    used = split.get_column("prefix").unique().to_list()
    listed = pl.concat(
        [
            listed_contracts(expiries, by_prefix[prefix], expiries_file).with_columns(pl.lit(prefix).alias("prefix"))
            for prefix in sorted(used)
        ]
    )
    codes = {prefix: mapping.expiries for prefix, mapping in by_prefix.items()}
    roots = {prefix: mapping.root for prefix, mapping in by_prefix.items()}
    mapped = split.with_columns(
        pl.col("prefix").replace_strict(codes, return_dtype=pl.String).alias("code"),
        pl.col("prefix").replace_strict(roots, return_dtype=pl.String).alias("root"),
    )
    _raise_first(
        mapped,
        ~pl.col("prefix").is_in(listed.get_column("prefix").unique().to_list()),
        "has an expiry code the expiry calendar does not list",
        file,
        code=True,
    )
    located = _located_contracts(mapped, listed)
    _refuse_uncovered(located, listed, file)
    return located.select(
        "date",
        "root",
        pl.col("contract").cast(pl.Int32),
        pl.col("value").alias("settle"),
        "series",
        pl.col("tenor").cast(pl.Int32),
    ).sort("root", "date", "contract")


def _tenor_series(settlements: pl.DataFrame, by_prefix: dict[str, TenorMapping], file: str) -> pl.DataFrame:
    """``settlements`` with ``prefix`` and ``tenor`` (``CL01`` -> ``CL``, 1); a series that is not
    PREFIX + number >= 1, or whose prefix has no mapping, is a DataError."""
    split = settlements.with_columns(
        pl.col("series").str.extract(r"^([A-Z]+)\d+$", 1).alias("prefix"),
        pl.col("series").str.extract(r"^[A-Z]+(\d+)$", 1).cast(pl.Int64, strict=False).alias("tenor"),
    )
    not_a_tenor = pl.col("prefix").is_null() | (pl.col("tenor") < 1)
    _raise_first(split, not_a_tenor, "is not a prefix and a tenor number >= 1, e.g. CL01", file)
    _raise_first(
        split,
        ~pl.col("prefix").is_in(list(by_prefix)),
        f"has no tenor mapping (mapped prefixes: {', '.join(sorted(by_prefix))})",
        file,
    )
    return split


def _located_contracts(mapped: pl.DataFrame, listed: pl.DataFrame) -> pl.DataFrame:
    """Each row of ``mapped`` with ``first`` (position of the first listed contract of its
    prefix with last_trade >= date), ``position = first + tenor - 1`` and that ``contract``
    (null where fewer are listed)."""
    first_after = listed.select(
        "prefix", pl.col("last_trade").alias("first_last_trade"), pl.col("position").alias("first")
    )
    return (
        mapped.sort("date")
        # both sides are sorted (dates; last trades within each prefix): polars cannot check it with "by"
        .join_asof(
            first_after,
            left_on="date",
            right_on="first_last_trade",
            by="prefix",
            strategy="forward",
            check_sortedness=False,
        )
        .with_columns((pl.col("first") + pl.col("tenor") - 1).alias("position"))
        .join(listed.select("prefix", "position", "contract"), on=["prefix", "position"], how="left")
    )


def _refuse_uncovered(located: pl.DataFrame, listed: pl.DataFrame, file: str) -> None:
    """DataError at the earliest (date, series) the expiry calendar does not cover: no contract
    expiring before it (``first`` = 0) or fewer than ``first + tenor`` contracts listed."""
    uncovered = located.filter((pl.col("first") == 0) | pl.col("contract").is_null()).sort("date", "series")
    if uncovered.height:
        row = uncovered.row(0, named=True)
        span = listed.filter(pl.col("prefix") == row["prefix"]).get_column("last_trade")
        raise DataError(
            f"expiry calendar {row['code']} does not cover this date: tenor {row['tenor']} needs a contract "
            f"expiring before it and {row['tenor']} on or after it (last trade dates listed: "
            f"{span.min()} to {span.max()})",
            file=file or None,
            key=f"series {row['series']} date {row['date']}",
        )


def tenor_instruments(
    mappings: tuple[TenorMapping, ...], expiries: pl.DataFrame, roots: list[str]
) -> dict[str, Instrument]:
    """An :class:`Instrument` per root of ``roots`` from its mapping: listed months = the
    months its expiry code lists; held months = the mapping's, else every listed month."""
    instruments = {}
    for mapping in mappings:
        if mapping.root not in roots:
            continue
        months = sorted(
            set((expiries.filter(pl.col("code") == mapping.expiries).get_column("contract") % 100).to_list())
        )
        listed = "".join(MONTH_CODES[month - 1] for month in months)
        try:
            instruments[mapping.root] = Instrument(
                root=mapping.root,
                name=mapping.name or mapping.root,
                sector=mapping.sector,
                exchange=mapping.exchange,
                calendar=mapping.calendar,
                multiplier=mapping.multiplier,
                listed_months=listed,
                hold_months=mapping.hold_months or listed,
            )
        except ValidationError as error:
            raise SpecError(_first_problem(error), key=f"tenor {mapping.prefix}") from None
    return instruments


def read_tenor_market(
    path: Path | str,
    expiries_path: Path | str,
    mappings: tuple[TenorMapping, ...] = DEFAULT_TENOR_MAPPINGS,
    instruments: dict[str, Instrument] | None = None,
) -> TenorImport:
    """The tenor file at ``path`` as a validated market, contracts named by the expiry
    calendar at ``expiries_path``; ``instruments`` (e.g. another source's) for the roots they
    define, :func:`tenor_instruments` for the others."""
    settlements = read_tenor_settlements(path)
    expiries = read_expiry_calendar(expiries_path)
    located = tenor_contracts(settlements, expiries, mappings, str(path), str(expiries_path))
    roots = sorted(located.get_column("root").unique().to_list())
    known = dict(instruments or {})
    derived = tenor_instruments(mappings, expiries, [root for root in roots if root not in known])
    selected = {root: known.get(root) or derived[root] for root in roots}
    sessions = root_sessions(located, selected)
    in_session = located.join(sessions, on=["root", "date"], how="semi")
    non_session = located.join(sessions, on=["root", "date"], how="anti").sort("date", "series")
    prices = in_session.select(
        pl.col(name) if name in located.columns else pl.lit(None, dtype=dtype).alias(name)
        for name, dtype in PRICES_SCHEMA.items()
    )
    prices = validate_prices(prices, selected, str(path), first_row=None)
    return TenorImport(
        MarketData(prices=prices, instruments=selected, source=str(path)),
        non_session.select("date", "root", "series", pl.col("settle").alias("value")),
    )


def root_sessions(prices: pl.DataFrame, instruments: dict[str, Instrument]) -> pl.DataFrame:
    """``root, date``: the sessions of each root's calendar over the span of its ``prices``."""
    spans = prices.group_by("root").agg(pl.col("date").min().alias("first"), pl.col("date").max().alias("last"))
    frames = [
        business_days(instruments[root].calendar, first, last).to_frame("date").with_columns(pl.lit(root).alias("root"))
        for root, first, last in spans.iter_rows()
    ]
    if not frames:
        return pl.DataFrame(schema={"root": pl.String(), "date": pl.Date()})
    return pl.concat(frames).select("root", "date")


def price_comparison(
    prices: pl.DataFrame, reference: pl.DataFrame, relative_tolerance: float = DEFAULT_RELATIVE_TOLERANCE
) -> pl.DataFrame:
    """``date, root, contract, settle, reference, agrees`` on every (date, root, contract) that
    both frames price; agrees = |settle - reference| <= relative_tolerance * |reference|."""
    return (
        prices.select("date", "root", "contract", "settle")
        .join(
            reference.select("date", "root", "contract", pl.col("settle").alias("reference")),
            on=["date", "root", "contract"],
            how="inner",
        )
        .with_columns(agrees(pl.col("settle"), pl.col("reference"), relative_tolerance).alias("agrees"))
        .sort("root", "date", "contract")
    )


def agreement_by_root(comparison: pl.DataFrame) -> pl.DataFrame:
    """``root, overlap, agree, share`` of a :func:`price_comparison`: overlapping (date,
    contract) prices, how many agree, and agree / overlap (fraction)."""
    return (
        comparison.group_by("root")
        .agg(pl.len().alias("overlap"), pl.col("agrees").sum().alias("agree"))
        .with_columns((pl.col("agree") / pl.col("overlap")).alias("share"))
        .sort("root")
    )


# --- helpers ---------------------------------------------------------------------------------


def _raise_first(frame: pl.DataFrame, mask: pl.Expr, problem: str, file: str, *, code: bool = False) -> None:
    offending = frame.filter(mask).sort("date", "series")
    if offending.height:
        row = offending.row(0, named=True)
        subject = f"its expiry code {row['code']!r} " if code else "the series "
        raise DataError(f"{subject}{problem}", file=file or None, key=f"series {row['series']} date {row['date']}")


def _unique_prefixes(mappings: tuple[TenorMapping, ...], file: str) -> tuple[TenorMapping, ...]:
    seen: set[str] = set()
    for mapping in mappings:
        if mapping.prefix in seen:
            raise SpecError(f"prefix {mapping.prefix} mapped twice", file=file or None, key=f"tenor {mapping.prefix}")
        seen.add(mapping.prefix)
    return mappings


def _first_problem(error: Exception) -> str:
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        return f"{'.'.join(str(part) for part in first['loc'])}: {first['msg']}"
    return str(error)
