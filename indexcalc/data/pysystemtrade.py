"""Importer for pysystemtrade's native ``data/futures`` folder (DESIGN.md section 1).

Layout read (see ``../shared/data/README.md``):

- ``multiple_prices_csv/ROOT.csv``: ``DATETIME, CARRY, CARRY_CONTRACT, PRICE, PRICE_CONTRACT,
  FORWARD, FORWARD_CONTRACT``; contract ids ``YYYYMM00``; daily rows stamped 23:00 with intraday
  rows mixed in from about 2012; some cells empty.
- ``adjusted_prices_csv/ROOT.csv``: ``DATETIME, price`` (back-adjusted PRICE series).
- ``csvconfig/instrumentconfig.csv`` and ``csvconfig/rollconfig.csv``.

Daily close of a contract = its last non-empty price of the day, as pysystemtrade's own daily
resample-last (each column's last non-empty value of the day). Each row gives up to three
(contract, price) pairs, one per column PRICE, FORWARD, CARRY whose price cell is not empty; a
contract's settle on a day is the pair of the latest row (latest DATETIME, then file order) that
prices it, in any column; within one row PRICE's value wins over FORWARD's over CARRY's. So a
day whose last row has an empty PRICE cell still prices the held contract from an earlier row
(intraday rows from about 2012, holidays). The held contract of the day is the PRICE_CONTRACT of
the day's last row (roll rule "data"). There is no volume, open interest or interest rate in this
layout: those frames are empty/null.
"""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
from pydantic import ValidationError

from indexcalc.data.instruments import MONTH_CODES, Instrument, Sector
from indexcalc.data.longformat import read_csv_text
from indexcalc.data.market import HELD_SCHEMA, PRICES_SCHEMA, MarketData
from indexcalc.data.validate import Check, first_offence, validate_prices
from indexcalc.errors import DataError, SpecError

MULTIPLE_PRICES_DIR = "multiple_prices_csv"
ADJUSTED_PRICES_DIR = "adjusted_prices_csv"
CONFIG_DIR = "csvconfig"
INSTRUMENT_CONFIG = "instrumentconfig.csv"
ROLL_CONFIG = "rollconfig.csv"

DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
PRICE_COLUMNS = ("PRICE", "FORWARD", "CARRY")
"""The three price columns, in the order that wins when one contract appears in several."""
CSV_FIRST_ROW = 2

CALENDAR = "CMES"
"""exchange_calendars code given to every imported root (pysystemtrade has no calendars)."""

SECTORS: dict[str, Sector] = {
    "COPPER": "base_metals",
    "GOLD": "precious_metals",
    "PALLAD": "precious_metals",
    "CRUDE_W": "energy",
    "BRENT_W": "energy",
    "GAS_US": "energy",
    "CORN": "grains",
    "WHEAT": "grains",
    "SOYBEAN": "grains",
    "COFFEE": "softs",
}
"""Sector of the roots we know; others fall back on ``ASSET_CLASS_SECTORS``."""

ASSET_CLASS_SECTORS: dict[str, Sector] = {"OilGas": "energy"}
"""pysystemtrade AssetClass -> sector where it is unambiguous ("Metals" and "Ags" are not:
base or precious, grains or softs or livestock; those roots get "other")."""

EXCHANGES = {
    "COPPER": "COMEX",
    "GOLD": "COMEX",
    "PALLAD": "NYMEX",
    "CRUDE_W": "NYMEX",
    "GAS_US": "NYMEX",
    "BRENT_W": "ICE Futures Europe",
    "CORN": "CBOT",
    "WHEAT": "CBOT",
    "SOYBEAN": "CBOT",
    "COFFEE": "ICE Futures US",
}

BUSINESS_DAYS_PER_CALENDAR_DAY = 5 / 7
AVERAGE_DAYS_PER_MONTH = 365.25 / 12
LATEST_FROM_START_BUSINESS_DAY = 15
"""An expiry later than this business day of the month is counted from the month's end."""
AVERAGE_BUSINESS_DAYS_PER_MONTH = 21
MAX_MONTHS_BEFORE = 3


def read_pysystemtrade(directory: Path | str) -> MarketData:
    """Every root of ``directory/multiple_prices_csv`` as a validated :class:`MarketData`
    (prices, held contracts, instruments from ``csvconfig``; no rates: an empty frame).

    settle of (root, date, contract) = the contract's last non-empty price that day in any of
    PRICE, FORWARD, CARRY (PRICE first, then FORWARD, within one row); held contract = the
    PRICE_CONTRACT of the day's last row (module docstring)."""
    directory = Path(directory)
    raw = _read_root_files(directory / MULTIPLE_PRICES_DIR, _MULTIPLE_PRICES_COLUMNS)
    rows = _in_time_order(_parse_multiple_prices(raw))
    pairs = pl.concat(
        [
            rows.select(
                "date",
                "root",
                "sequence",
                contract=(pl.col(f"{column}_CONTRACT") // 100).cast(pl.Int32),
                settle=pl.col(column),
                preference=pl.lit(rank, dtype=pl.Int8),
            ).filter(pl.col("settle").is_not_null())
            for rank, column in enumerate(PRICE_COLUMNS)
        ]
    )
    # Later rows rank higher, and within a row the preferred column: the top pair is the close.
    recency = pl.col("sequence").cast(pl.Int64) * len(PRICE_COLUMNS) - pl.col("preference")
    prices = (
        pairs.lazy()
        .filter(recency == recency.max().over("root", "date", "contract"))
        .sort("root", "date", "contract")
        .select(
            pl.col(name).cast(dtype) if name in pairs.columns else pl.lit(None, dtype=dtype).alias(name)
            for name, dtype in PRICES_SCHEMA.items()
        )
        .collect()
    )
    closes = _last_rows(rows)
    held = closes.select(
        "date", "root", contract=(pl.col("PRICE_CONTRACT") // 100).cast(pl.Int32)
    ).select(pl.col(name).cast(dtype) for name, dtype in HELD_SCHEMA.items())
    used_months = pl.concat([prices.select("root", "contract"), held.select("root", "contract")])
    instruments = read_instruments(directory / CONFIG_DIR, used_months)
    prices = validate_prices(prices, instruments, str(directory / MULTIPLE_PRICES_DIR), first_row=None)
    return MarketData(prices=prices, instruments=instruments, held=held, source=str(directory))


def read_adjusted_prices(directory: Path | str) -> pl.DataFrame:
    """``date, root, adjusted``: the back-adjusted price at each day's close, its last non-empty
    price of the day (the rule of :func:`read_pysystemtrade`); days without any price are left
    out."""
    raw = _read_root_files(Path(directory) / ADJUSTED_PRICES_DIR, ("DATETIME", "price"))
    parsed = _with_datetime(raw).with_columns(adjusted=pl.col("price").cast(pl.Float64, strict=False))
    checks = [_datetime_check()] + _number_checks("price", "adjusted", positive=False)
    _raise_first(parsed, checks)
    priced = _in_time_order(parsed).drop_nulls("adjusted")
    return _last_rows(priced).select("date", "root", "adjusted")


def read_instruments(config_dir: Path, used_months: pl.DataFrame) -> dict[str, Instrument]:
    """Instruments of the roots in ``used_months`` (``root, contract``) from ``csvconfig``.

    root = the pysystemtrade name; multiplier = Pointsize; listed months = PricedRollCycle plus
    HoldRollCycle plus every month that occurs in the data; hold months = HoldRollCycle;
    sector from ``SECTORS`` then ``ASSET_CLASS_SECTORS`` (else "other"); calendar ``CALENDAR``.
    Expiry and roll timing are approximated from ExpiryOffset (calendar days from the first
    of the delivery month to expiry) and RollOffsetDays (calendar days from expiry to the roll),
    converted with 5 business days per 7 calendar days.
    """
    roots = sorted(used_months.get_column("root").unique().to_list())
    months = (
        used_months.group_by("root")
        .agg((pl.col("contract") % 100).unique().sort().alias("months"))
        .to_dict(as_series=False)
    )
    data_months = dict(zip(months["root"], months["months"]))
    config = _read_config(
        config_dir / INSTRUMENT_CONFIG, ("Instrument", "Description", "Pointsize", "Currency", "AssetClass")
    )
    rolls = _read_config(
        config_dir / ROLL_CONFIG, ("Instrument", "HoldRollCycle", "PricedRollCycle", "RollOffsetDays", "ExpiryOffset")
    )
    instruments = {}
    for root in roots:
        for path, table in ((config_dir / INSTRUMENT_CONFIG, config), (config_dir / ROLL_CONFIG, rolls)):
            if root not in table:
                raise DataError("no row for this instrument", file=str(path), key=f"root {root}")
        instruments[root] = _instrument(root, config[root], rolls[root], data_months[root], config_dir)
    return instruments


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
        "datetime",
        "date",
        *(pl.col(f"{column}_value").alias(column) for column in PRICE_COLUMNS),
        *(pl.col(f"{column}_CONTRACT_value").alias(f"{column}_CONTRACT") for column in PRICE_COLUMNS),
    )


def _in_time_order(parsed: pl.DataFrame) -> pl.DataFrame:
    """Rows sorted by root and time stamp (file order breaks ties), numbered in ``sequence``."""
    return parsed.sort("root", "datetime", maintain_order=True).with_row_index("sequence")


def _last_rows(rows: pl.DataFrame) -> pl.DataFrame:
    """The last row of each (root, date) of rows in time order (:func:`_in_time_order`)."""
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


def _read_config(path: Path, columns: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """A csvconfig table as ``{Instrument: {column: text}}``."""
    if not path.is_file():
        raise DataError("no such file", file=str(path))
    frame = read_csv_text(path)
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise DataError(f"missing required column(s) {', '.join(missing)}", file=str(path), key="columns")
    return {row["Instrument"]: row for row in frame.select(columns).iter_rows(named=True)}


def _instrument(
    root: str, config: dict[str, str], roll: dict[str, str], data_months: list[int], config_dir: Path
) -> Instrument:
    """One :class:`Instrument` from its csvconfig rows (see :func:`read_instruments`)."""
    hold = _roll_cycle(roll, "HoldRollCycle", config_dir / ROLL_CONFIG)
    priced = _roll_cycle(roll, "PricedRollCycle", config_dir / ROLL_CONFIG)
    listed = set(priced) | set(hold) | {MONTH_CODES[month - 1] for month in data_months}
    pointsize = _config_number(config, "Pointsize", float, config_dir / INSTRUMENT_CONFIG)
    expiry_offset = _config_number(roll, "ExpiryOffset", int, config_dir / ROLL_CONFIG)
    roll_offset = _config_number(roll, "RollOffsetDays", int, config_dir / ROLL_CONFIG)
    expiry_months_before, expiry_business_day = _expiry(expiry_offset)
    days_before_delivery = -(expiry_offset + roll_offset)
    roll_months_before = min(
        MAX_MONTHS_BEFORE, max(expiry_months_before, math.ceil(days_before_delivery / AVERAGE_DAYS_PER_MONTH))
    )
    sector = SECTORS.get(root) or ASSET_CLASS_SECTORS.get(config["AssetClass"] or "", "other")
    try:
        return Instrument(
            root=root,
            name=config["Description"] or root,
            sector=sector,
            exchange=EXCHANGES.get(root, "unknown"),
            calendar=CALENDAR,
            currency=config["Currency"] or "USD",
            multiplier=pointsize,
            listed_months="".join(sorted(listed, key=MONTH_CODES.index)),
            hold_months=hold,
            roll_months_before=roll_months_before,
            expiry_months_before=expiry_months_before,
            expiry_business_day=expiry_business_day,
        )
    except ValidationError as error:
        first = error.errors()[0]
        location = ".".join(str(part) for part in first["loc"])
        raise SpecError(f"{location}: {first['msg']}", file=str(config_dir), key=f"root {root}") from None


def _roll_cycle(row: dict[str, str], column: str, path: Path) -> str:
    cycle = (row[column] or "").strip()
    if not cycle or any(letter not in MONTH_CODES for letter in cycle):
        problem = f"{column} {cycle!r} is not a string of month letters {MONTH_CODES}"
        raise DataError(problem, file=str(path), key=f"root {row['Instrument']}")
    return cycle


def _config_number(row: dict[str, str], column: str, kind: type, path: Path) -> float | int:
    try:
        return kind(row[column])
    except (TypeError, ValueError):
        raise DataError(f"{column} {row[column]!r} is not a number", file=str(path), key=f"root {row['Instrument']}") from None


def _expiry(expiry_offset: int) -> tuple[int, int]:
    """(months before delivery, n-th business day) of the expiry ``expiry_offset`` calendar
    days after the first of the delivery month (negative: in an earlier month, counted from
    that month's end)."""
    business_days = round(expiry_offset * BUSINESS_DAYS_PER_CALENDAR_DAY)
    if expiry_offset < 0:
        return 1, min(-1, business_days)
    day = business_days + 1
    if day > LATEST_FROM_START_BUSINESS_DAY:
        return 0, min(-1, day - AVERAGE_BUSINESS_DAYS_PER_MONTH - 1)
    return 0, day
