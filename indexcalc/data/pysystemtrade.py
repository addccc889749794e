"""Importer for pysystemtrade's native ``data/futures`` folder (docs/design.md section 1).

Layout read (pysystemtrade's ``data/futures`` folder):

- ``multiple_prices_csv/ROOT.csv``: ``DATETIME, CARRY, CARRY_CONTRACT, PRICE, PRICE_CONTRACT,
  FORWARD, FORWARD_CONTRACT``; contract ids ``YYYYMM00``; daily rows stamped 23:00 with intraday
  rows mixed in from about 2012; some cells empty.
- ``adjusted_prices_csv/ROOT.csv``: ``DATETIME, price`` (back-adjusted PRICE series).
- ``csvconfig/instrumentconfig.csv`` and ``csvconfig/rollconfig.csv`` (read by
  :mod:`indexcalc.data.pysystemtrade_instruments`).

Sessions and closes (docs/design.md sections 1-2; rules in :mod:`indexcalc.data.sessions`):
each row is read in the importer's ``time_zone`` (default :data:`DEFAULT_TIME_ZONE`) and goes
to a session of its root's exchange calendar (:data:`indexcalc.data.pysystemtrade_instruments.
ROOT_SESSIONS`): a daily close row to its own date (or the next session if that date is none),
an intraday row to the first session whose close is after it, so a Sunday-evening row is Monday's. A session's close is taken from its
rows eligible for the close: daily rows, and intraday rows at or before the root's settlement
time. Among them, as pysystemtrade's own resample-last, a contract's settle is the pair of the
latest row (latest time stamp, then file order) that prices it, in any of PRICE, FORWARD, CARRY;
within one row PRICE's value wins over FORWARD's over CARRY's. So a session whose last eligible
row has an empty PRICE cell still prices the held contract from an earlier row. The held
contract of the session is the PRICE_CONTRACT of its last eligible row (roll rule "data"). There
is no volume, open interest or interest rate in this layout: those frames are empty/null.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl

from indexcalc.data.longformat import read_csv_text
from indexcalc.data.market import HELD_SCHEMA, PRICES_SCHEMA, MarketData
from indexcalc.data.pysystemtrade_instruments import DEFAULT_SESSION, ROOT_SESSIONS, read_instruments
from indexcalc.data.sessions import (
    ImportReport,
    attribute_sessions,
    check_time_zone,
    import_report,
    raise_unmapped,
    session_closes,
    utc_stamps,
    with_settlement_instants,
)
from indexcalc.data.row_checks import Check, first_offence
from indexcalc.data.validate import validate_prices
from indexcalc.errors import DataError

MULTIPLE_PRICES_DIR = "multiple_prices_csv"
ADJUSTED_PRICES_DIR = "adjusted_prices_csv"
CONFIG_DIR = "csvconfig"

DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
PRICE_COLUMNS = ("PRICE", "FORWARD", "CARRY")
"""The three price columns, in the order that wins when one contract appears in several."""
CSV_FIRST_ROW = 2

DEFAULT_TIME_ZONE = "Europe/London"
"""Time zone of the files' DATETIME stamps. The shared files mix conventions: in 2017-2018 the
hourly rows skip CME's 16:00-17:00 Chicago break at 21:00 in US summer and 22:00 in winter (UTC);
from 2020 they cover 15:00-21:00 in both seasons, 10:00-16:00 New York if read as London time.
Read as London time the WTI closes correlate better with the settlements (held contract's daily
return against the settlement return: 0.956-0.984 a year in 2020-2023 against 0.909-0.968 read
as UTC; 0.916 against 0.878 in 2016; 0.972-0.985 against 0.981-0.988 in 2017-2019), and so do
natural gas's (0.962-0.979 against 0.905-0.966 in 2019-2023); Brent's differ by at most 0.013
either way. Hence the default."""

DAILY_STAMP = dt.time(23, 0)
"""The time stamp of pysystemtrade's daily close rows. A row stamped so is the daily close of
its calendar date unless that date also holds a bar row (:func:`_with_sessions`)."""


@dataclass(frozen=True)
class PysystemtradeImport:
    """What :func:`import_pysystemtrade` read: the market, the per-root import report, and the
    row behind each price (``date, root, contract, stamp, kind, source``; ``kind`` "daily" or
    "intraday", ``stamp`` the row's time stamp in UTC)."""

    market: MarketData
    report: ImportReport
    closes: pl.DataFrame


def read_pysystemtrade(directory: Path | str, *, time_zone: str = DEFAULT_TIME_ZONE) -> MarketData:
    """Every root of ``directory/multiple_prices_csv`` as a validated :class:`MarketData`
    (:func:`import_pysystemtrade` without its report)."""
    return import_pysystemtrade(directory, time_zone=time_zone).market


def import_pysystemtrade(directory: Path | str, *, time_zone: str = DEFAULT_TIME_ZONE) -> PysystemtradeImport:
    """Every root of ``directory/multiple_prices_csv`` as a validated market with its import
    report (prices, held contracts, instruments from ``csvconfig``; no rates: an empty frame).

    ``time_zone`` is the zone of the files' DATETIME stamps. Each row goes to a session of its
    root's exchange (:mod:`indexcalc.data.sessions`; a row is "daily" when stamped
    :data:`DAILY_STAMP` and alone on its calendar date, else "intraday"); among the rows eligible
    for the session's close (daily rows, and intraday rows at or before the root's settlement
    time in :data:`indexcalc.data.pysystemtrade_instruments.ROOT_SESSIONS`), settle of (root,
    session, contract) = the contract's last non-empty price in any of PRICE, FORWARD, CARRY
    (PRICE first, then FORWARD, within one row); held contract = the PRICE_CONTRACT of the last eligible row (module docstring)."""
    directory = Path(directory)
    check_time_zone(time_zone, option="--time-zone")
    raw = _read_root_files(directory / MULTIPLE_PRICES_DIR, _MULTIPLE_PRICES_COLUMNS)
    rows = _with_sessions(_in_time_order(_parse_multiple_prices(raw), time_zone))
    eligible = rows.filter(pl.col("eligible")).with_columns(date=pl.col("session"))
    pairs = pl.concat(
        [
            eligible.select(
                "date",
                "root",
                "sequence",
                "stamp_utc",
                "daily",
                contract=(pl.col(f"{column}_CONTRACT") // 100).cast(pl.Int32),
                settle=pl.col(column),
                preference=pl.lit(rank, dtype=pl.Int8),
            ).filter(pl.col("settle").is_not_null())
            for rank, column in enumerate(PRICE_COLUMNS)
        ]
    )
    # Later rows rank higher, and within a row the preferred column: the top pair is the close.
    recency = pl.col("sequence").cast(pl.Int64) * len(PRICE_COLUMNS) - pl.col("preference")
    chosen = (
        pairs.lazy()
        .filter(recency == recency.max().over("root", "date", "contract"))
        .sort("root", "date", "contract")
        .collect()
    )
    prices = chosen.select(
        pl.col(name).cast(dtype) if name in chosen.columns else pl.lit(None, dtype=dtype).alias(name)
        for name, dtype in PRICES_SCHEMA.items()
    )
    closes = chosen.select(
        "date", "root", "contract", stamp="stamp_utc", kind=_KIND, source=pl.lit(SOURCE)
    )
    last_rows = _last_rows(eligible)
    held = last_rows.select(
        "date", "root", contract=(pl.col("PRICE_CONTRACT") // 100).cast(pl.Int32)
    ).select(pl.col(name).cast(dtype) for name, dtype in HELD_SCHEMA.items())
    used_months = pl.concat([prices.select("root", "contract"), held.select("root", "contract")])
    instruments = read_instruments(directory / CONFIG_DIR, used_months)
    prices = validate_prices(prices, instruments, str(directory / MULTIPLE_PRICES_DIR), first_row=None)
    market = MarketData(prices=prices, instruments=instruments, held=held, source=str(directory))
    report = import_report(rows, last_rows, SOURCE, time_zone)
    market = replace(market, import_report=report.frame())
    return PysystemtradeImport(market=market, report=report, closes=closes)


SOURCE = "pysystemtrade"
_KIND = pl.when(pl.col("daily")).then(pl.lit("daily")).otherwise(pl.lit("intraday"))


def _prices_held_alone(rows: pl.DataFrame, candidate: pl.Expr) -> pl.Series:
    """Per row: whether it is a ``candidate`` that prices its PRICE contract (the held one)
    while no other row of its calendar date prices that contract in any column."""
    candidates = rows.filter(candidate & pl.col("PRICE").is_not_null()).select(
        "root", "date", pl.col("sequence").alias("candidate"), pl.col("PRICE_CONTRACT").alias("held")
    )
    prices_held = pl.any_horizontal(
        pl.col(column).is_not_null() & (pl.col(f"{column}_CONTRACT") == pl.col("held")) for column in PRICE_COLUMNS
    )
    shared = (
        rows.select("root", "date", "sequence", *PRICE_COLUMNS, *(f"{column}_CONTRACT" for column in PRICE_COLUMNS))
        .join(candidates, on=["root", "date"])
        .filter((pl.col("sequence") != pl.col("candidate")) & prices_held)
        .get_column("candidate")
    )
    alone = candidates.get_column("candidate").filter(~candidates.get_column("candidate").is_in(shared.implode()))
    return rows.get_column("sequence").is_in(alone.implode())


def _with_sessions(rows: pl.DataFrame) -> pl.DataFrame:
    """Rows with ``daily``, ``calendar``, ``session`` and ``eligible`` (for the session's close).

    A row is daily when stamped :data:`DAILY_STAMP` and either its calendar date (file time)
    holds no bar row (no other row stamped on the hour or half hour to the second), or it is
    the only row of its date that prices its PRICE contract. Dates of hourly bars (mostly from
    2016) make the 23:00 row the next session's first bar; the irregular snapshot rows of
    2012-2015 (13:01:05, 18:29:14...) leave it the day's close, which is nearer the settlement
    than they are (WTI, same contract, daily-return correlation 0.96 in 2014 with it, 0.74
    without, stamps read as UTC); and where the hourly rows price only other contracts (Brent,
    September-December 2012) the 23:00 row is the held contract's daily close (Brent 2012: 0.999
    with this second test, 0.85 without)."""
    roots = rows.get_column("root").unique().to_list()
    sessions = {root: ROOT_SESSIONS.get(root, DEFAULT_SESSION) for root in roots}
    calendars = pl.DataFrame(
        {"root": list(sessions), "calendar": [spec.calendar for spec in sessions.values()]},
        schema={"root": pl.String, "calendar": pl.String},
    )
    time = pl.col("datetime").dt.time()
    bar = (pl.col("datetime").dt.second() == 0) & (pl.col("datetime").dt.minute() % 30 == 0) & (time != DAILY_STAMP)
    on_bar_date = bar.any().over("root", "date")
    marked = rows.join(calendars, on="root", how="left", maintain_order="left").with_columns(
        daily=(time == DAILY_STAMP) & ~on_bar_date
    )
    marked = marked.with_columns(
        daily=pl.col("daily") | _prices_held_alone(marked, (time == DAILY_STAMP) & on_bar_date)
    )
    first, last = marked.get_column("date").min(), marked.get_column("date").max()
    closes = session_closes(calendars.get_column("calendar").to_list(), first, last + dt.timedelta(days=31))
    attributed = attribute_sessions(marked, closes)
    raise_unmapped(attributed, "session", "no session of the exchange calendar after {DATETIME}")
    settlement = pl.col("settlement_utc")
    return with_settlement_instants(attributed, sessions).with_columns(
        eligible=pl.col("daily") | settlement.is_null() | (pl.col("stamp_utc") <= settlement)
    )


def read_adjusted_prices(directory: Path | str) -> pl.DataFrame:
    """``date, root, adjusted``: the back-adjusted price at each day's close, its last non-empty
    price of the day (the rule of :func:`read_pysystemtrade`); days without any price are left
    out."""
    raw = _read_root_files(Path(directory) / ADJUSTED_PRICES_DIR, ("DATETIME", "price"))
    parsed = _with_datetime(raw).with_columns(adjusted=pl.col("price").cast(pl.Float64, strict=False))
    checks = [_datetime_check()] + _number_checks("price", "adjusted", positive=False)
    _raise_first(parsed, checks)
    priced = parsed.sort("root", "datetime", maintain_order=True).drop_nulls("adjusted")
    return _last_rows(priced).select("date", "root", "adjusted")


# --- reading ---------------------------------------------------------------------------------

_MULTIPLE_PRICES_COLUMNS = (
    "DATETIME",
    "CARRY",
    "CARRY_CONTRACT",
    "PRICE",
    "PRICE_CONTRACT",
    "FORWARD",
    "FORWARD_CONTRACT",
)


def _read_root_files(folder: Path, columns: tuple[str, ...]) -> pl.DataFrame:
    """All ``ROOT.csv`` of ``folder`` as text, with ``root``, ``file`` and file ``row`` numbers."""
    if not folder.is_dir():
        raise DataError("no such directory", file=str(folder))
    paths = sorted(folder.glob("*.csv"))
    if not paths:
        raise DataError("no ROOT.csv files in this directory", file=str(folder))
    frames = []
    for path in paths:
        frame = read_csv_text(path)
        if frame.height == 0:
            raise DataError("empty file (no data rows)", file=str(path))
        missing = [column for column in columns if column not in frame.columns]
        if missing:
            raise DataError(
                f"missing required column(s) {', '.join(missing)} (required: {', '.join(columns)})",
                file=str(path),
                key="columns",
            )
        frames.append(
            frame.select(columns).with_columns(
                root=pl.lit(path.stem),
                file=pl.lit(str(path)),
                row=pl.int_range(CSV_FIRST_ROW, pl.len() + CSV_FIRST_ROW, dtype=pl.Int64),
            )
        )
    return pl.concat(frames)


def _parse_multiple_prices(raw: pl.DataFrame) -> pl.DataFrame:
    """Typed prices (Float64) and contracts (Int64 ``YYYYMM00``), checked row by row."""
    parsed = _with_datetime(raw).with_columns(
        *(pl.col(column).cast(pl.Float64, strict=False).alias(f"{column}_value") for column in PRICE_COLUMNS),
        *(
            pl.col(f"{column}_CONTRACT").cast(pl.Int64, strict=False).alias(f"{column}_CONTRACT_value")
            for column in PRICE_COLUMNS
        ),
    )
    checks = [_datetime_check()]
    for column in PRICE_COLUMNS:
        # zero and negative prices are data (docs/design.md section 2)
        checks += _number_checks(column, f"{column}_value", positive=False)
        checks += _contract_checks(column)
    _raise_first(parsed, checks)
    return parsed.select(
        "root",
        "file",
        "row",
        "DATETIME",
        "datetime",
        "date",
        *(pl.col(f"{column}_value").alias(column) for column in PRICE_COLUMNS),
        *(pl.col(f"{column}_CONTRACT_value").alias(f"{column}_CONTRACT") for column in PRICE_COLUMNS),
    )


def _in_time_order(parsed: pl.DataFrame, time_zone: str) -> pl.DataFrame:
    """Rows with ``stamp_utc`` (the stamp read in ``time_zone``), sorted by root and stamp (file
    order breaks ties), numbered in ``sequence``. A stamp that does not exist in ``time_zone``
    (skipped when clocks go forward) is a :class:`DataError`."""
    stamped = parsed.with_columns(stamp_utc=utc_stamps(pl.col("datetime"), time_zone))
    raise_unmapped(stamped, "stamp_utc", f"DATETIME {{DATETIME}} does not exist in time zone {time_zone}")
    return stamped.sort("root", "stamp_utc", maintain_order=True).with_row_index("sequence")


def _last_rows(rows: pl.DataFrame) -> pl.DataFrame:
    """The last row of each (root, date) of rows in time order."""
    return rows.unique(["root", "date"], keep="last", maintain_order=True)


def _with_datetime(raw: pl.DataFrame) -> pl.DataFrame:
    """Add ``datetime`` (parsed DATETIME, null if unparseable) and its calendar ``date``."""
    # Time stamps rarely repeat across roots, so the parser's cache only costs time.
    stamp = pl.col("DATETIME").str.to_datetime(DATETIME_FORMAT, strict=False, cache=False)
    return raw.with_columns(stamp.alias("datetime")).with_columns(pl.col("datetime").dt.date().alias("date"))


def _datetime_check() -> Check:
    return Check(
        "datetime",
        pl.col("datetime").is_null(),
        lambda row: f"unparseable DATETIME {row['DATETIME']!r} (expected YYYY-MM-DD HH:MM:SS)",
    )


def _number_checks(column: str, value: str, *, positive: bool) -> list[Check]:
    """A non-empty cell must be a finite number (and positive for prices)."""
    present = pl.col(column).is_not_null()
    checks = [
        Check(
            column,
            present & (pl.col(value).is_null() | ~pl.col(value).is_finite()),
            lambda row: f"{column} {row[column]!r} is not a number",
        )
    ]
    if positive:
        checks.append(
            Check(
                column,
                pl.col(value).is_finite() & (pl.col(value) <= 0),
                lambda row: f"{column} {row[column]} is not positive",
            )
        )
    return checks


def _contract_checks(column: str) -> list[Check]:
    """``X_CONTRACT`` must be ``YYYYMM00``; PRICE_CONTRACT always (it names the held
    contract), the others whenever their price cell is filled."""
    contract = f"{column}_CONTRACT"
    value = pl.col(f"{contract}_value")
    present = pl.col(contract).is_not_null()
    month = value // 100 % 100
    needed = pl.lit(True) if column == "PRICE" else pl.col(f"{column}_value").is_not_null()
    return [
        Check(contract, needed & ~present, lambda row: f"missing {contract}"),
        Check(
            contract,
            present & (value.is_null() | (value % 100 != 0) | ~month.is_between(1, 12)),
            lambda row: f"{contract} {row[contract]!r} is not a contract id YYYYMM00",
        ),
    ]


def _raise_first(parsed: pl.DataFrame, checks: list[Check]) -> None:
    offence = first_offence(parsed, checks)
    if offence is not None:
        row = parsed.row(offence[0], named=True)
        raise DataError(offence[1], file=row["file"], key=f"row {row['row']}")


