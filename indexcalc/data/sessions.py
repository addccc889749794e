"""Exchange sessions of time-stamped price rows, and the rows eligible for a session's close
(docs/design.md sections 1-2).

A session of an exchange calendar runs from the previous session's close to its own close: CME
Globex (``CMES``) closes at 17:00 Chicago and the next session opens at that time, so a Sunday or
weekday evening row belongs to the next session. The rule, per row stamped ``t`` (converted to
UTC from the file's time zone):

- an **intraday** row belongs to the first session whose close (session date at the calendar's
  close time, in the calendar's time zone) is after ``t``;
- a **daily** close row (a vendor's one row for a day) belongs to its own date when that is a
  session, otherwise to the next session.

A row is **eligible for the close** of its session when it is a daily row, or when ``t`` is at
or before the settlement time of the root (session date at that time, in its time zone); a root
without a settlement time takes every row. Sessions are the project's business days
(:func:`indexcalc.data.calendars.business_days`), so no row can create a date that is not one.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from indexcalc.data.calendars import business_days
from indexcalc.errors import DataError, SpecError


class CalendarClose(BaseModel):
    """The daily close of an exchange calendar: the moment one session ends and the next begins."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    time_zone: str
    close: dt.time


CALENDAR_CLOSES: dict[str, CalendarClose] = {
    # exchange_calendars' CMES: 17:00 Chicago to 17:00 Chicago (the Globex day).
    "CMES": CalendarClose(time_zone="America/Chicago", close=dt.time(17, 0)),
    # exchange_calendars' IEPA (ICE): 20:00 New York the evening before to 18:00 New York.
    "IEPA": CalendarClose(time_zone="America/New_York", close=dt.time(18, 0)),
    # London Stock Exchange (proxy for the LME): 16:30 London.
    "XLON": CalendarClose(time_zone="Europe/London", close=dt.time(16, 30)),
}
"""Regular close of each calendar code used for session attribution (early closes ignored: no
exchange reopens between an early close and the regular close)."""


class RootSession(BaseModel):
    """Where a root trades and when its daily settlement is fixed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    calendar: str = Field(description="exchange_calendars code of the root's exchange")
    settlement: dt.time | None = Field(description="settlement time; None: a session's last row is its close")
    settlement_time_zone: str = "UTC"


def check_time_zone(name: str, *, option: str = "time zone") -> str:
    """``name`` if it is an IANA time zone, else a :class:`SpecError`."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SpecError(f"unknown {option} {name!r} (expected an IANA name such as UTC or Europe/London)") from None
    return name


def session_closes(calendars: list[str], start: dt.date, end: dt.date) -> pl.DataFrame:
    """``calendar, session, close_utc``: every business day of each calendar from ``start`` to
    ``end`` with its close instant (session date at :data:`CALENDAR_CLOSES` time, in UTC)."""
    frames = []
    for code in sorted(set(calendars)):
        if code not in CALENDAR_CLOSES:
            raise SpecError(f"no close time known for calendar {code!r} (known: {', '.join(CALENDAR_CLOSES)})")
        close = CALENDAR_CLOSES[code]
        frames.append(
            business_days(code, start, end)
            .alias("session")
            .to_frame()
            .with_columns(
                calendar=pl.lit(code),
                close_utc=pl.col("session")
                .dt.combine(close.close)
                .dt.replace_time_zone(close.time_zone, ambiguous="earliest", non_existent="null")
                .dt.convert_time_zone("UTC")
                .dt.cast_time_unit("us"),
            )
        )
    return pl.concat(frames).select("calendar", "session", "close_utc")


def attribute_sessions(rows: pl.DataFrame, closes: pl.DataFrame) -> pl.DataFrame:
    """``rows`` (``calendar, date, stamp_utc, daily``) with ``session``: intraday rows to the
    first session of their calendar whose close is after the stamp, daily rows to the first
    session on or after their date (module docstring). Null where no session follows."""
    # Only the keys are sorted (the rows can be wide); the sessions come back in row order.
    keys = rows.select("calendar", "date", "stamp_utc", "daily").with_row_index("_order")
    by_stamp = keys.sort("stamp_utc").join_asof(
        closes.sort("close_utc").select("calendar", "close_utc", pl.col("session").alias("_by_stamp")),
        left_on="stamp_utc",
        right_on="close_utc",
        by="calendar",
        strategy="forward",
        allow_exact_matches=False,
        check_sortedness=False,  # sorted by stamp; polars cannot check this within groups
    )
    by_date = by_stamp.sort("date").join_asof(
        closes.sort("session").select("calendar", pl.col("session").alias("_by_date")),
        left_on="date",
        right_on="_by_date",
        by="calendar",
        strategy="forward",
        check_sortedness=False,  # sorted by date; polars cannot check this within groups
    )
    session = by_date.sort("_order").select(
        pl.when(pl.col("daily")).then(pl.col("_by_date")).otherwise(pl.col("_by_stamp")).alias("session")
    )
    return rows.with_columns(session.to_series())


def with_settlement_instants(rows: pl.DataFrame, sessions: dict[str, RootSession]) -> pl.DataFrame:
    """``rows`` (``root, session``) with ``settlement_utc``: the session date at the root's
    settlement time, in UTC (null: no settlement time). Converted once per (root, session)."""
    pairs = rows.select("root", "session").unique()
    instants = [
        pairs.filter(pl.col("root") == root).with_columns(
            settlement_utc=pl.col("session")
            .dt.combine(spec.settlement)
            .dt.replace_time_zone(spec.settlement_time_zone, ambiguous="earliest", non_existent="null")
            .dt.convert_time_zone("UTC")
            .dt.cast_time_unit("us")
        )
        for root, spec in sessions.items()
        if spec.settlement is not None
    ]
    schema = {"root": pl.String, "session": pl.Date, "settlement_utc": pl.Datetime("us", "UTC")}
    table = pl.concat(instants) if instants else pl.DataFrame(schema=schema)
    return rows.join(table, on=["root", "session"], how="left", maintain_order="left")


def utc_stamps(stamp: pl.Expr, time_zone: str) -> pl.Expr:
    """Naive file time stamps read in ``time_zone`` and converted to UTC (null where the local
    time does not exist, in the hour skipped when clocks go forward)."""
    return (
        stamp.dt.replace_time_zone(time_zone, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
        .dt.cast_time_unit("us")
    )


def raise_unmapped(rows: pl.DataFrame, column: str, problem: str) -> None:
    """A :class:`DataError` naming the file and row of the first row whose ``column`` is null."""
    missing = rows.filter(pl.col(column).is_null())
    if missing.height:
        first = missing.row(0, named=True)
        raise DataError(problem.format(**first), file=first.get("file"), key=f"row {first.get('row')}")


class RootImport(BaseModel):
    """How one root's time-stamped rows became session closes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    root: str
    calendar: str
    rows: int = Field(description="price rows read")
    sessions: int = Field(description="sessions that received at least one row")
    reattributed: int = Field(description="rows whose session is not their calendar date in the file")
    after_settlement: int = Field(description="rows after the settlement time, left out of the close")
    daily_closes: int = Field(description="sessions closed by a daily row")
    intraday_closes: int = Field(description="sessions closed by an intraday row")
    sessions_without_close: int = Field(description="sessions whose rows all come after the settlement time")
    first_session: dt.date
    last_session: dt.date


class ImportReport(BaseModel):
    """The import report of a time-stamped source: one :class:`RootImport` per root."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str
    time_zone: str
    roots: tuple[RootImport, ...]

    def frame(self) -> pl.DataFrame:
        """One row per root, the fields of :class:`RootImport` as columns."""
        return pl.DataFrame([root.model_dump() for root in self.roots], schema=_REPORT_SCHEMA)


_REPORT_SCHEMA = {
    name: pl.String if name in ("root", "calendar") else pl.Date if name.endswith("session") else pl.Int64
    for name in RootImport.model_fields
}


def import_report(rows: pl.DataFrame, closing_rows: pl.DataFrame, source: str, time_zone: str) -> ImportReport:
    """Counts per root from ``rows`` (``root, calendar, date, session, daily, eligible``) and
    ``closing_rows`` (the row that closes each session, with ``daily``)."""
    closes = closing_rows.group_by("root").agg(
        daily_closes=pl.col("daily").sum(), intraday_closes=(~pl.col("daily")).sum()
    )
    counts = (
        rows.group_by("root")
        .agg(
            pl.col("calendar").first(),
            rows=pl.len(),
            sessions=pl.col("session").n_unique(),
            reattributed=(pl.col("session") != pl.col("date")).sum(),
            after_settlement=(~pl.col("eligible")).sum(),
            sessions_without_close=pl.col("session").n_unique() - pl.col("session").filter("eligible").n_unique(),
            first_session=pl.col("session").min(),
            last_session=pl.col("session").max(),
        )
        .join(closes, on="root", how="left")
        .with_columns(pl.col("daily_closes", "intraday_closes").fill_null(0))
        .sort("root")
    )
    return ImportReport(
        source=source,
        time_zone=time_zone,
        roots=tuple(RootImport(**row) for row in counts.iter_rows(named=True)),
    )
