"""Exchange sessions and the close at the settlement time (docs/design.md sections 1-2), on
hand-made pysystemtrade files. COPPER trades on CME's calendar (CMES: a session runs from
17:00 Chicago the evening before to 17:00 Chicago) and settles at 13:00 New York."""

from __future__ import annotations

import datetime as dt

import exchange_calendars
from hypothesis import given, settings
from hypothesis import strategies as st
import polars as pl
import pytest
from data_cli import assert_user_error, run_cli

from indexcalc.data.pysystemtrade import import_pysystemtrade, read_pysystemtrade
from indexcalc.data.pysystemtrade_instruments import ROOT_SESSIONS
from indexcalc.data.sessions import CALENDAR_CLOSES
from indexcalc.errors import DataError, SpecError


def _row(stamp: str, price: float, contract: str = "20150700") -> str:
    """A row pricing only PRICE (the held contract)."""
    return f"{stamp},,20150900,{price},{contract},,20150900\n"


def _closes(market) -> list[tuple[dt.date, int, float]]:
    return market.prices.select("date", "contract", "settle").rows()


def _report(imported, root: str = "COPPER") -> dict:
    return next(line for line in imported.report.roots if line.root == root).model_dump()


def test_a_sunday_evening_row_belongs_to_mondays_session(pysystemtrade_folder):
    # UTC stamps. Sunday 7 June 2015 22:00 UTC = 17:00 Chicago (CDT): the first session whose
    # close (17:00 Chicago = 22:00 UTC) is after it is Monday 8 June's. It is before Monday's
    # settlement (13:00 New York = 17:00 UTC), so it is Monday's close: 2.60.
    body = _row("2015-06-07 22:00:00", 2.60) + _row("2015-06-09 14:00:00", 2.70)
    imported = import_pysystemtrade(pysystemtrade_folder({"COPPER": body}), time_zone="UTC")
    assert _closes(imported.market) == [(dt.date(2015, 6, 8), 201507, 2.60), (dt.date(2015, 6, 9), 201507, 2.70)]
    assert imported.market.held.get_column("date").to_list() == [dt.date(2015, 6, 8), dt.date(2015, 6, 9)]
    report = _report(imported)
    assert (report["rows"], report["sessions"], report["reattributed"], report["intraday_closes"]) == (2, 2, 1, 2)


def test_an_evening_row_after_the_reopen_goes_to_the_next_session(pysystemtrade_folder):
    # UTC stamps, June (New York UTC-4, Chicago UTC-5):
    # Tue 9 June: 16:00 UTC (12:00 NY) 2.70 is eligible; 17:30 UTC (13:30 NY) 2.71 is after the
    #   13:00 NY settlement (dropped from the close); 22:30 UTC (17:30 Chicago) 2.72 is after the
    #   17:00 Chicago reopen: Wednesday's. Tuesday closes at 2.70.
    # Wed 10 June: its own 14:00 UTC row 2.73 is later than the 2.72 of the evening before: 2.73.
    #   Its 22:30 UTC row 2.74 goes to Thursday, which has no other row: Thursday closes at 2.74.
    body = (
        _row("2015-06-09 16:00:00", 2.70)
        + _row("2015-06-09 17:30:00", 2.71)
        + _row("2015-06-09 22:30:00", 2.72)
        + _row("2015-06-10 14:00:00", 2.73)
        + _row("2015-06-10 22:30:00", 2.74)
    )
    imported = import_pysystemtrade(pysystemtrade_folder({"COPPER": body}), time_zone="UTC")
    assert _closes(imported.market) == [
        (dt.date(2015, 6, 9), 201507, 2.70),
        (dt.date(2015, 6, 10), 201507, 2.73),
        (dt.date(2015, 6, 11), 201507, 2.74),
    ]
    report = _report(imported)
    assert (report["rows"], report["sessions"], report["reattributed"], report["after_settlement"]) == (5, 3, 2, 1)
    # The row behind each close, with its kind and source.
    assert imported.closes.select("date", "stamp", "kind", "source").rows() == [
        (dt.date(2015, 6, 9), dt.datetime(2015, 6, 9, 16, tzinfo=dt.timezone.utc), "intraday", "pysystemtrade"),
        (dt.date(2015, 6, 10), dt.datetime(2015, 6, 10, 14, tzinfo=dt.timezone.utc), "intraday", "pysystemtrade"),
        (dt.date(2015, 6, 11), dt.datetime(2015, 6, 10, 22, 30, tzinfo=dt.timezone.utc), "intraday", "pysystemtrade"),
    ]


def test_a_holiday_row_goes_to_the_next_session(pysystemtrade_folder):
    # Good Friday 3 April 2015 is not a CMES session. Its daily row (23:00, alone on its date)
    # goes to the next session, Monday 6 April, which has no row of its own: Monday closes at
    # 2.62. Thursday's daily row stays on Thursday (a daily row is its own date's close even at
    # 23:00, after the settlement and the reopen).
    body = _row("2015-04-02 23:00:00", 2.61) + _row("2015-04-03 23:00:00", 2.62)
    imported = import_pysystemtrade(pysystemtrade_folder({"COPPER": body}))
    assert _closes(imported.market) == [(dt.date(2015, 4, 2), 201507, 2.61), (dt.date(2015, 4, 6), 201507, 2.62)]
    report = _report(imported)
    assert (report["reattributed"], report["daily_closes"], report["intraday_closes"], report["after_settlement"]) == (1, 2, 0, 0)


@pytest.mark.parametrize(
    ("time_zone", "expected"),
    [
        # London stamps. 6 March (NY EST, London GMT): 13:00 NY = 18:00 London: the 18:00 row
        # 2.62. 10 March (US on EDT, UK still on GMT): 13:00 NY = 17:00 London: 2.63, the 18:00
        # row is late. 31 March (EDT, BST): 13:00 NY = 18:00 London: 2.66, 18:30 is late.
        ("Europe/London", [2.62, 2.63, 2.66]),
        # The same file read as UTC: 6 March 18:00 UTC = 13:00 EST: 2.62; 10 March 13:00 EDT =
        # 17:00 UTC: 2.63; 31 March 17:00 UTC: 2.65 (18:00 UTC = 14:00 EDT is late).
        ("UTC", [2.62, 2.63, 2.65]),
    ],
)
def test_the_close_is_the_last_row_at_or_before_the_settlement_across_dst_changes(pysystemtrade_folder, time_zone, expected):
    body = (
        _row("2015-03-06 17:00:00", 2.61)
        + _row("2015-03-06 18:00:00", 2.62)
        + _row("2015-03-10 17:00:00", 2.63)
        + _row("2015-03-10 18:00:00", 2.64)
        + _row("2015-03-31 17:00:00", 2.65)
        + _row("2015-03-31 18:00:00", 2.66)
        + _row("2015-03-31 18:30:00", 2.67)
    )
    market = read_pysystemtrade(pysystemtrade_folder({"COPPER": body}), time_zone=time_zone)
    assert market.prices.get_column("date").to_list() == [dt.date(2015, 3, 6), dt.date(2015, 3, 10), dt.date(2015, 3, 31)]
    assert market.prices.get_column("settle").to_list() == expected


def test_a_23_00_row_is_the_daily_close_unless_its_date_has_bar_rows(pysystemtrade_folder):
    # London stamps, June (settlement 13:00 NY = 18:00 London).
    # 9 June: a snapshot row at 10:17:31 (seconds: not a bar) and the 23:00 row: the 23:00 row
    #   is the daily close of 9 June: 2.71.
    # 10 June: hourly bars at 10:00 and 11:00 and a 23:00 row: the 23:00 row is a bar too, at
    #   17:00 Chicago, the opening of 11 June's session. 10 June closes at 11:00: 2.73; 11 June
    #   has only that row: 2.74.
    body = (
        _row("2015-06-09 10:17:31", 2.70)
        + _row("2015-06-09 23:00:00", 2.71)
        + _row("2015-06-10 10:00:00", 2.72)
        + _row("2015-06-10 11:00:00", 2.73)
        + _row("2015-06-10 23:00:00", 2.74)
    )
    imported = import_pysystemtrade(pysystemtrade_folder({"COPPER": body}))
    assert _closes(imported.market) == [
        (dt.date(2015, 6, 9), 201507, 2.71),
        (dt.date(2015, 6, 10), 201507, 2.73),
        (dt.date(2015, 6, 11), 201507, 2.74),
    ]
    assert imported.closes.get_column("kind").to_list() == ["daily", "intraday", "intraday"]
    report = _report(imported)
    assert (report["daily_closes"], report["intraday_closes"], report["reattributed"]) == (1, 2, 1)


def test_a_root_without_a_settlement_time_closes_at_its_sessions_last_row(pysystemtrade_folder):
    # LEANHOG is not in ROOT_SESSIONS: CME's calendar, no settlement time. UTC stamps: the
    # 21:00 UTC row (16:00 Chicago) is 9 June's close: 80.2.
    body = "2015-06-09 15:00:00,,20150800,80.1,20150600,,20150800\n2015-06-09 21:00:00,,20150800,80.2,20150600,,20150800\n"
    market = read_pysystemtrade(pysystemtrade_folder({"LEANHOG": body}), time_zone="UTC")
    assert market.prices.select("date", "settle").rows() == [(dt.date(2015, 6, 9), 80.2)]
    assert market.instruments["LEANHOG"].calendar == "CMES"


def test_an_unknown_time_zone_is_a_spec_error(pysystemtrade_folder):
    with pytest.raises(SpecError, match="unknown --time-zone 'Mars/Olympus'"):
        read_pysystemtrade(pysystemtrade_folder({"COPPER": _row("2015-06-09 23:00:00", 2.7)}), time_zone="Mars/Olympus")


def test_a_stamp_skipped_by_the_clock_change_names_file_and_row(pysystemtrade_folder):
    # London clocks went from 01:00 to 02:00 on 29 March 2015: 01:30 does not exist.
    folder = pysystemtrade_folder({"COPPER": _row("2015-03-27 10:00:00", 2.6) + _row("2015-03-29 01:30:00", 2.7)})
    with pytest.raises(DataError) as error:
        read_pysystemtrade(folder)
    assert str(error.value) == (
        f"{folder}/multiple_prices_csv/COPPER.csv: row 3: DATETIME 2015-03-29 01:30:00 does not exist in time zone Europe/London"
    )


def test_the_cli_import_takes_the_time_zone(pysystemtrade_folder, tmp_path):
    # 31 March 2015, 18:00: London time it is 13:00 NY (the close); UTC it is 14:00 NY (late).
    folder = pysystemtrade_folder({"COPPER": _row("2015-03-31 17:00:00", 2.65) + _row("2015-03-31 18:00:00", 2.66)})
    out = tmp_path / "prices.csv"
    for zone, settle in (("Europe/London", "2.66"), ("UTC", "2.65")):
        result = run_cli("data", "import", "pysystemtrade", folder, "--time-zone", zone, "--out", out)
        assert result.exit_code == 0, result.output
        assert out.read_text().splitlines()[1] == f"2015-03-31,COPPER,201507,{settle},,"
    bad = run_cli("data", "import", "pysystemtrade", folder, "--time-zone", "Nowhere", "--out", out)
    assert_user_error(bad, "unknown --time-zone 'Nowhere' (expected an IANA name such as UTC or Europe/London)")


@pytest.mark.parametrize("code", sorted(CALENDAR_CLOSES))
@pytest.mark.slow
def test_calendar_close_table_matches_exchange_calendars(code):
    calendar = exchange_calendars.get_calendar(code)
    close = CALENDAR_CLOSES[code]
    assert str(calendar.tz) == close.time_zone
    assert calendar.close_times[-1][1] == close.close


def test_every_known_root_has_a_calendar_with_a_close_time():
    assert {spec.calendar for spec in ROOT_SESSIONS.values()} <= set(CALENDAR_CLOSES)
    assert all(spec.settlement is not None for spec in ROOT_SESSIONS.values())


@pytest.mark.realdata
def test_no_series_date_is_outside_its_roots_exchange_sessions(pysystemtrade_market, pysystemtrade_series):
    # Every root's series date is a business day of its exchange calendar (sessions from
    # exchange_calendars inside the cached window, from 1990).
    from indexcalc.data.calendars import business_days, exchange_sessions

    checked = 0
    for root, frame in pysystemtrade_series.partition_by("root", as_dict=True, include_key=True).items():
        root = root[0] if isinstance(root, tuple) else root
        code = pysystemtrade_market.instruments[root].calendar
        dates = frame.get_column("date")
        days = business_days(code, dates.min(), dates.max())
        outside = dates.filter(~dates.is_in(days.implode()))
        assert outside.len() == 0, f"{root}: {outside.head(5).to_list()}"
        recent = dates.filter(dates >= dt.date(2007, 1, 1))
        sessions = pl.Series(exchange_sessions(code, recent.min(), recent.max())).cast(pl.Date)
        assert recent.is_in(sessions.implode()).all(), root
        checked += dates.len()
    assert checked > 90_000


@settings(max_examples=60, deadline=None)
@given(
    stamps=st.lists(
        st.datetimes(min_value=dt.datetime(2014, 1, 1), max_value=dt.datetime(2016, 12, 31)), min_size=1, max_size=40
    ),
    code=st.sampled_from(sorted(CALENDAR_CLOSES)),
)
@pytest.mark.slow
def test_an_intraday_row_belongs_to_the_session_whose_close_follows_it(stamps, code):
    # Invariant of the rule: the session is a business day of the calendar, its close is after
    # the stamp, and the previous business day's close is at or before it.
    from indexcalc.data.calendars import business_days
    from indexcalc.data.sessions import attribute_sessions, session_closes

    rows = pl.DataFrame({"stamp": stamps}).select(
        calendar=pl.lit(code),
        date=pl.col("stamp").dt.date(),
        stamp_utc=pl.col("stamp").dt.replace_time_zone("UTC").dt.cast_time_unit("us"),
        daily=pl.lit(False),
    )
    closes = session_closes([code], dt.date(2013, 12, 1), dt.date(2017, 2, 1))
    sessions = attribute_sessions(rows, closes).join(closes, on=["calendar", "session"], how="left")
    days = business_days(code, dt.date(2013, 12, 1), dt.date(2017, 2, 1))
    assert sessions.get_column("session").is_in(days.implode()).all()
    assert (sessions.get_column("close_utc") > sessions.get_column("stamp_utc")).all()
    previous = closes.with_columns(pl.col("close_utc").shift(1).alias("previous_close")).select("session", "previous_close")
    checked = sessions.join(previous, on="session").drop_nulls("previous_close")
    assert (checked.get_column("previous_close") <= checked.get_column("stamp_utc")).all()


def test_the_report_frame_has_one_row_per_root(pysystemtrade_folder):
    body = _row("2015-06-09 23:00:00", 2.7)
    imported = import_pysystemtrade(pysystemtrade_folder({"COPPER": body, "LEANHOG": body.replace("20150700", "20150600")}))
    frame = imported.report.frame()
    assert frame.get_column("root").to_list() == ["COPPER", "LEANHOG"]
    assert frame.columns[:4] == ["root", "calendar", "rows", "sessions"]
    assert frame.row(0, named=True)["first_session"] == dt.date(2015, 6, 9)
    assert (imported.report.source, imported.report.time_zone) == ("pysystemtrade", "Europe/London")


def test_the_cli_import_prints_the_import_report(pysystemtrade_folder, tmp_path):
    # UTC: the Sunday 22:00 row goes to Monday (re-attributed), the 17:30 row is after the
    # 13:00 NY settlement; Monday closes on an intraday row, Tuesday on its daily row.
    body = _row("2015-06-07 22:00:00", 2.60) + _row("2015-06-08 17:30:00", 2.61) + _row("2015-06-09 23:00:00", 2.62)
    folder = pysystemtrade_folder({"COPPER": body})
    result = run_cli("data", "import", "pysystemtrade", folder, "--time-zone", "UTC", "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "stamps read as UTC"
    assert lines[1].split() == [
        "root", "calendar", "rows", "sessions", "reattributed", "after_settlement", "daily_closes", "intraday_closes",
    ]
    assert lines[2].split() == ["COPPER", "CMES", "3", "2", "1", "1", "1", "1"]


def test_a_23_00_row_alone_pricing_the_held_contract_is_the_daily_close(pysystemtrade_folder):
    # London stamps, 10 October 2012 (Brent-like: the hourly rows price only FORWARD, Jan 2013).
    # The 23:00 row is the only row of the date that prices its PRICE contract (Dec 2012): it
    # is 10 October's daily close although the date has bar rows. Dec 2012 closes at 113.18 on
    # 10 October, Jan 2013 at 112.17 (the 23:00 row is later than the 17:00 bar's 112.78).
    # On 11 October the 23:00 row prices Dec 2012 and so does the 15:00 bar: the 23:00 row opens
    # 12 October's session; 11 October closes at the 15:00 bar (113.50, Jan 2013 112.90).
    body = (
        "2012-10-10 17:00:00,,20121100,,20121200,112.78,20130100\n"
        "2012-10-10 23:00:00,114.33,20121100,113.18,20121200,112.17,20130100\n"
        "2012-10-11 15:00:00,,20121100,113.50,20121200,112.90,20130100\n"
        "2012-10-11 23:00:00,114.90,20121100,113.60,20121200,112.95,20130100\n"
    )
    imported = import_pysystemtrade(pysystemtrade_folder({"COPPER": body}))
    assert _closes(imported.market) == [
        (dt.date(2012, 10, 10), 201211, 114.33),
        (dt.date(2012, 10, 10), 201212, 113.18),
        (dt.date(2012, 10, 10), 201301, 112.17),
        (dt.date(2012, 10, 11), 201212, 113.50),
        (dt.date(2012, 10, 11), 201301, 112.90),
        (dt.date(2012, 10, 12), 201211, 114.90),
        (dt.date(2012, 10, 12), 201212, 113.60),
        (dt.date(2012, 10, 12), 201301, 112.95),
    ]
    assert imported.closes.filter(pl.col("date") == dt.date(2012, 10, 10)).get_column("kind").unique().to_list() == ["daily"]


def test_a_session_whose_rows_all_follow_the_settlement_has_no_close(pysystemtrade_folder):
    # UTC stamps, June: 9 June's only row is at 18:00 UTC = 14:00 New York, after COPPER's
    # 13:00 settlement: 9 June gets no price and no held contract (counted in the report);
    # 10 June closes at its 15:00 UTC row (11:00 New York): 2.71.
    body = _row("2015-06-09 18:00:00", 2.70) + _row("2015-06-10 15:00:00", 2.71)
    imported = import_pysystemtrade(pysystemtrade_folder({"COPPER": body}), time_zone="UTC")
    assert _closes(imported.market) == [(dt.date(2015, 6, 10), 201507, 2.71)]
    assert imported.market.held.get_column("date").to_list() == [dt.date(2015, 6, 10)]
    report = _report(imported)
    assert (report["sessions"], report["after_settlement"], report["sessions_without_close"]) == (2, 1, 1)
