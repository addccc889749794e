"""The instruments of pysystemtrade's roots (docs/design.md section 1): ``csvconfig``'s
``instrumentconfig.csv`` and ``rollconfig.csv`` read into :class:`Instrument` specs, and what
the files do not say about the roots we know: exchange, sector, exchange calendar and
settlement time (:data:`ROOT_SESSIONS`, used by the importer :mod:`indexcalc.data.pysystemtrade`
to place rows in sessions).
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import polars as pl
from pydantic import ValidationError

from indexcalc.data.instruments import MONTH_CODES, Instrument, Sector
from indexcalc.data.longformat import read_csv_text
from indexcalc.data.sessions import RootSession
from indexcalc.errors import DataError, SpecError

INSTRUMENT_CONFIG = "instrumentconfig.csv"
ROLL_CONFIG = "rollconfig.csv"

DEFAULT_SESSION = RootSession(calendar="CMES", settlement=None)
"""Roots not in :data:`ROOT_SESSIONS`: CME's calendar, a session's last row is its close."""

_NEW_YORK, _CHICAGO, _LONDON = "America/New_York", "America/Chicago", "Europe/London"
ROOT_SESSIONS: dict[str, RootSession] = {
    "COPPER": RootSession(calendar="CMES", settlement=dt.time(13, 0), settlement_time_zone=_NEW_YORK),
    "GOLD": RootSession(calendar="CMES", settlement=dt.time(13, 30), settlement_time_zone=_NEW_YORK),
    "PALLAD": RootSession(calendar="CMES", settlement=dt.time(13, 5), settlement_time_zone=_NEW_YORK),
    "CRUDE_W": RootSession(calendar="CMES", settlement=dt.time(14, 30), settlement_time_zone=_NEW_YORK),
    "GAS_US": RootSession(calendar="CMES", settlement=dt.time(14, 30), settlement_time_zone=_NEW_YORK),
    "CORN": RootSession(calendar="CMES", settlement=dt.time(13, 15), settlement_time_zone=_CHICAGO),
    "WHEAT": RootSession(calendar="CMES", settlement=dt.time(13, 15), settlement_time_zone=_CHICAGO),
    "SOYBEAN": RootSession(calendar="CMES", settlement=dt.time(13, 15), settlement_time_zone=_CHICAGO),
    # ICE Futures Europe has no exchange_calendars code; IEPA (ICE) is the closest, and its
    # 20:00-18:00 New York day is Brent's 01:00-23:00 London.
    "BRENT_W": RootSession(calendar="IEPA", settlement=dt.time(19, 30), settlement_time_zone=_LONDON),
    "COFFEE": RootSession(calendar="IEPA", settlement=dt.time(13, 30), settlement_time_zone=_NEW_YORK),
}
"""Exchange calendar and settlement time of the roots we know (exchange rules: the end of each
settlement window; NYMEX/COMEX in New York time, CBOT grains in Chicago time, ICE Brent in
London time)."""

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


def read_instruments(config_dir: Path, used_months: pl.DataFrame) -> dict[str, Instrument]:
    """Instruments of the roots in ``used_months`` (``root, contract``) from ``csvconfig``.

    root = the pysystemtrade name; multiplier = Pointsize; listed months = PricedRollCycle plus
    HoldRollCycle plus every month that occurs in the data; hold months = HoldRollCycle;
    sector from ``SECTORS`` then ``ASSET_CLASS_SECTORS`` (else "other"); calendar from
    ``ROOT_SESSIONS`` (else ``DEFAULT_SESSION``).
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
            calendar=ROOT_SESSIONS.get(root, DEFAULT_SESSION).calendar,
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
