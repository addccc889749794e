"""Exchange business days (docs/design.md sections 1-2: a root trades on its exchange's days).

Business days come from the ``exchange_calendars`` package; pandas lives only inside this
module and every answer leaves it as a polars ``Date`` Series (sorted, unique).

Calendar codes used by ``data/instruments.toml``:

- ``CMES``: CME Group (NYMEX, COMEX, CBOT, CME) business days. The package keeps US holidays on
  which Globex trades an abbreviated session (Martin Luther King Day, 4 July, Thanksgiving...)
  as sessions; New Year, Good Friday, Christmas and days of national mourning are closed.
- ``IEPA``: ICE Futures US business days (same convention); the pysystemtrade importer also
  gives it to ICE Brent, whose ICE Futures Europe day (01:00-23:00 London) is IEPA's
  20:00-18:00 New York and which trades on most English bank holidays.
- ``XLON``: London Stock Exchange business days. The package has no calendar for the London
  Metal Exchange or ICE Futures Europe, so XLON (the same English bank holidays) is their proxy.

The time each code's session closes (and the next one opens), used to attribute time-stamped
rows to sessions, is the table ``CALENDAR_CLOSES`` of :mod:`indexcalc.data.sessions`.

All three cover 1995 onward. The sessions of each code are computed once for a fixed window
(:data:`CALENDAR_WINDOW`) and cached; a request reaching outside the window, or outside the
range the package supports for a code, is filled with weekdays other than 1 January and
25 December (the fallback the embedded generator relies on for contract expiries years ahead).
An unknown code is a :class:`~indexcalc.errors.SpecError`. This is the project's one calendar
policy: the loaders put each instrument calendar's business days into the market
(:func:`with_exchange_sessions`), and the calculation reads them from there.
"""

from __future__ import annotations

import os
import tempfile
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from indexcalc.errors import SpecError

if TYPE_CHECKING:
    from indexcalc.data.market import MarketData

CALENDAR_WINDOW: tuple[date, date] = (date(1990, 1, 1), date(2035, 12, 31))
"""Sessions cached per calendar code; requests outside are completed with fallback weekdays."""

FALLBACK_HOLIDAYS: tuple[tuple[int, int], ...] = ((1, 1), (12, 25))
"""(month, day) closed in the weekday fallback used outside a calendar's supported range."""


def business_days(calendar_code: str, start: date, end: date) -> pl.Series:
    """Business days of ``calendar_code`` from ``start`` to ``end`` inclusive (polars Date, sorted).

    Inside :data:`CALENDAR_WINDOW` and the package's bounds these are the exchange's sessions;
    outside, weekdays minus :data:`FALLBACK_HOLIDAYS`.
    """
    if end < start:
        return pl.Series("date", [], dtype=pl.Date)
    sessions, covered_start, covered_end = _cached_sessions(calendar_code)
    inside = _between(sessions, start, end)
    parts = []
    if start < covered_start:
        parts.append(_fallback_days(start, min(end, _previous_day(covered_start))))
    parts.append(inside)
    if end > covered_end:
        parts.append(_fallback_days(max(start, _next_day(covered_end)), end))
    days = np.unique(np.concatenate(parts))
    return pl.Series("date", days.astype("datetime64[D]"), dtype=pl.Date)


SESSIONS_AFTER_DATA_DAYS = 400
"""Calendar days of sessions kept after the market's last date when that passes the end of
:data:`CALENDAR_WINDOW` (the first-notice roll looks some 70 business days ahead)."""


def with_exchange_sessions(market: "MarketData") -> "MarketData":
    """``market`` with ``sessions`` (``calendar, date``): the :func:`business_days` of every
    instrument's calendar from the start of :data:`CALENDAR_WINDOW` (or the first price date, if
    earlier) to its end (or :data:`SESSIONS_AFTER_DATA_DAYS` after the last price date, if later). The span does not
    move with the data inside the window, so a daily run and a rebuild see the same sessions.
    Called by the loaders (the edge); an unknown calendar code is a :class:`SpecError`."""
    from dataclasses import replace

    from indexcalc.data.market import SESSIONS_SCHEMA

    start, end = CALENDAR_WINDOW
    if market.prices.height:
        dates = market.prices.get_column("date")
        start = min(start, dates.min())
        end = max(end, date.fromordinal(dates.max().toordinal() + SESSIONS_AFTER_DATA_DAYS))
    codes = sorted({instrument.calendar for instrument in market.instruments.values()})
    frames = [
        business_days(code, start, end).to_frame("date").select(pl.lit(code).alias("calendar"), "date")
        for code in codes
    ]
    sessions = pl.concat(frames) if frames else pl.DataFrame(schema=SESSIONS_SCHEMA)
    return replace(market, sessions=sessions.cast(SESSIONS_SCHEMA))


def exchange_sessions(calendar_code: str, start: date, end: date) -> np.ndarray | None:
    """The exchange's own sessions from ``start`` to ``end`` (``datetime64[D]``) from the cache,
    or None when the span leaves what the package covers for the code (no weekday fallback) or
    the code is unknown."""
    try:
        sessions, covered_start, covered_end = _cached_sessions(calendar_code)
    except SpecError:
        return None
    if start < covered_start or end > covered_end:
        return None
    return _between(sessions, start, end)


def _between(sessions: np.ndarray, start: date, end: date) -> np.ndarray:
    """The sessions from ``start`` to ``end`` inclusive."""
    return sessions[(sessions >= np.datetime64(start, "D")) & (sessions <= np.datetime64(end, "D"))]


def business_days_array(calendar_code: str, start: date, end: date) -> np.ndarray:
    """:func:`business_days` as a numpy ``datetime64[D]`` array (for vectorised generators)."""
    return business_days(calendar_code, start, end).to_numpy().astype("datetime64[D]")


def month_business_day(days: np.ndarray, year_months: np.ndarray, n: int) -> np.ndarray:
    """The ``n``-th business day (1 = first; -1 = last, -2 = second last...) of each month.

    ``days`` are sorted business days (``datetime64[D]``) covering the months asked for;
    ``year_months`` are ``YYYYMM`` integers. Returns ``datetime64[D]``, one per month. A month
    with fewer than ``|n|`` business days in ``days`` raises :class:`SpecError`.
    """
    if n == 0:
        raise SpecError("business day 0 does not exist (use 1 for the first, -1 for the last)")
    year_months = np.asarray(year_months, dtype=np.int64)
    month_starts = _month_start(year_months)
    next_starts = _month_start(_add_months(year_months, 1))
    first_index = np.searchsorted(days, month_starts, side="left")
    end_index = np.searchsorted(days, next_starts, side="left")
    count = end_index - first_index
    short = count < abs(n)
    if short.any():
        month = int(year_months[np.argmax(short)])
        raise SpecError(f"month {month} has fewer than {abs(n)} business days in the calendar")
    index = first_index + (n - 1) if n > 0 else end_index + n
    return days[index]


def _add_months(year_months: np.ndarray, months: int) -> np.ndarray:
    serial = (year_months // 100) * 12 + (year_months % 100 - 1) + months
    return (serial // 12) * 100 + serial % 12 + 1


def _month_start(year_months: np.ndarray) -> np.ndarray:
    years = year_months // 100 - 1970
    months = year_months % 100 - 1
    return (years * 12 + months).astype("datetime64[M]").astype("datetime64[D]")


CACHE_ENVIRONMENT = "INDEXCALC_CACHE_DIR"
"""Environment variable naming the folder where sessions are kept between processes (default
``$XDG_CACHE_HOME/indexcalc`` or ``~/.cache/indexcalc``; an empty value turns the cache off)."""


def cache_directory() -> Path | None:
    """The folder of the on-disk session cache (None when turned off)."""
    chosen = os.environ.get(CACHE_ENVIRONMENT)
    if chosen is not None:
        return Path(chosen) if chosen else None
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "indexcalc"


def _cache_file(calendar_code: str) -> Path | None:
    """The cache file of a code: named by the exchange_calendars version and the window, so a new
    version of the package or another window never reads an old answer."""
    from importlib.metadata import PackageNotFoundError, version

    directory = cache_directory()
    if directory is None:
        return None
    try:
        package = version("exchange_calendars")
    except PackageNotFoundError:
        return None
    start, end = CALENDAR_WINDOW
    return directory / f"sessions-{calendar_code}-{package}-{start:%Y%m%d}-{end:%Y%m%d}.npz"


def _read_cache(path: Path | None) -> tuple[np.ndarray, date, date] | None:
    if path is None or not path.is_file():
        return None
    try:
        with np.load(path) as stored:
            sessions = stored["sessions"].astype("datetime64[D]")
            covered = stored["covered"].astype("datetime64[D]").astype(object)
        sessions.setflags(write=False)
        return sessions, covered[0], covered[1]
    except (OSError, ValueError, KeyError):  # a damaged cache file is recomputed
        return None


def _write_cache(path: Path | None, sessions: np.ndarray, start: date, end: date) -> None:
    """Store the sessions atomically; a folder that cannot be written just means no cache."""
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".tmp-", suffix=".npz", delete=False) as handle:
            np.savez(handle, sessions=sessions.astype(np.int64),
                     covered=np.array([start, end], dtype="datetime64[D]").astype(np.int64))
        os.replace(handle.name, path)
    except OSError:
        return


@lru_cache(maxsize=None)
def _cached_sessions(calendar_code: str) -> tuple[np.ndarray, date, date]:
    """Sessions of ``calendar_code`` over :data:`CALENDAR_WINDOW` clipped to the package's bounds,
    with the covered range. Building them takes exchange_calendars about a second per code, so
    they are also kept on disk (:func:`cache_directory`) for the next process."""
    path = _cache_file(calendar_code)
    cached = _read_cache(path)
    if cached is not None:
        return cached
    import exchange_calendars
    from exchange_calendars.errors import DateOutOfBounds

    if calendar_code not in exchange_calendars.get_calendar_names(include_aliases=True):
        raise SpecError(f"unknown exchange calendar {calendar_code!r}", key=f"calendar {calendar_code}")
    start, end = CALENDAR_WINDOW
    try:
        calendar = exchange_calendars.get_calendar(calendar_code, start=start.isoformat(), end=end.isoformat())
    except DateOutOfBounds:
        calendar_class = type(exchange_calendars.get_calendar(calendar_code))
        bound_min, bound_max = calendar_class.bound_min(), calendar_class.bound_max()
        if bound_min is not None and bound_min.date() > start:
            start = bound_min.date()
        if bound_max is not None and bound_max.date() < end:
            end = bound_max.date()
        calendar = exchange_calendars.get_calendar(calendar_code, start=start.isoformat(), end=end.isoformat())
    sessions = calendar.sessions.to_numpy().astype("datetime64[D]")
    sessions.setflags(write=False)
    _write_cache(path, sessions, start, end)
    return sessions, start, end


DOCUMENTED_CODES = frozenset({"CMES", "IEPA", "XLON"})
"""The codes of ``data/instruments.toml`` (module doc): exchange_calendars codes, known without
importing the package (about a second)."""


@lru_cache(maxsize=None)
def known_calendar(calendar_code: str) -> bool:
    """Whether ``calendar_code`` is an exchange_calendars code (or alias). The documented codes,
    and a code with sessions in the on-disk cache, are known without importing the package."""
    if calendar_code in DOCUMENTED_CODES or _read_cache(_cache_file(calendar_code)) is not None:
        return True
    import exchange_calendars

    return calendar_code in exchange_calendars.get_calendar_names(include_aliases=True)


def _fallback_days(start: date, end: date) -> np.ndarray:
    if end < start:
        return np.array([], dtype="datetime64[D]")
    days = np.arange(np.datetime64(start, "D"), np.datetime64(end, "D") + 1)
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday (weekday 3)
    months = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day_of_month = (days - days.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    closed = np.zeros(days.shape, dtype=bool)
    for month, day in FALLBACK_HOLIDAYS:
        closed |= (months == month) & (day_of_month == day)
    return days[(weekday < 5) & ~closed]


def _previous_day(day: date) -> date:
    return date.fromordinal(day.toordinal() - 1)


def _next_day(day: date) -> date:
    return date.fromordinal(day.toordinal() + 1)
