"""The exchange-session cache of indexcalc.data.calendars: what is read back from disk is what
exchange_calendars computed, a damaged file is recomputed, and the cache can be turned off."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import polars as pl
import pytest

from indexcalc.data import calendars


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(calendars.CACHE_ENVIRONMENT, str(tmp_path))
    calendars._cached_sessions.cache_clear()
    yield tmp_path
    calendars._cached_sessions.cache_clear()


@pytest.mark.slow
def test_sessions_read_back_from_the_disk_cache_equal_the_computed_ones(cache):
    computed, start, end = calendars._cached_sessions("XLON")
    files = list(cache.glob("sessions-XLON-*.npz"))
    assert len(files) == 1
    calendars._cached_sessions.cache_clear()
    read, read_start, read_end = calendars._cached_sessions("XLON")
    assert np.array_equal(read, computed) and (read_start, read_end) == (start, end)
    # 2024-12-25 and 2024-12-26 are English bank holidays; 2024-12-27 is a session
    days = calendars.business_days("XLON", dt.date(2024, 12, 24), dt.date(2024, 12, 27)).to_list()
    assert days == [dt.date(2024, 12, 24), dt.date(2024, 12, 27)]


@pytest.mark.slow
def test_a_damaged_cache_file_is_recomputed_and_rewritten(cache):
    computed = calendars._cached_sessions("CMES")[0]
    path = next(cache.glob("sessions-CMES-*.npz"))
    path.write_bytes(b"not a numpy file")
    calendars._cached_sessions.cache_clear()
    assert np.array_equal(calendars._cached_sessions("CMES")[0], computed)
    calendars._cached_sessions.cache_clear()
    assert np.array_equal(calendars._read_cache(path)[0], computed)


def test_an_empty_cache_setting_turns_the_cache_off(monkeypatch):
    monkeypatch.setenv(calendars.CACHE_ENVIRONMENT, "")
    assert calendars.cache_directory() is None and calendars._cache_file("CMES") is None


def test_the_market_gets_its_instruments_sessions_over_a_span_that_does_not_move_with_the_data():
    from indexcalc.daystate import reference_fingerprint
    from indexcalc.data.market import MarketData
    from tests.builders import instrument

    def market(last: dt.date) -> MarketData:
        prices = pl.DataFrame({"date": [last], "root": ["AA"], "contract": [202412], "settle": [1.0],
                               "volume": [None], "open_interest": [None]},
                              schema={"date": pl.Date, "root": pl.String, "contract": pl.Int32, "settle": pl.Float64,
                                      "volume": pl.Float64, "open_interest": pl.Float64})
        return MarketData(prices=prices, instruments={"AA": instrument("AA", calendar="XLON"),
                                                      "BB": instrument("BB", calendar="CMES")})

    early = calendars.with_exchange_sessions(market(dt.date(2024, 3, 28)))
    later = calendars.with_exchange_sessions(market(dt.date(2024, 3, 29)))
    assert early.sessions.equals(later.sessions)  # a daily run and a rebuild see the same days
    assert early.sessions.get_column("calendar").unique().sort().to_list() == ["CMES", "XLON"]
    xlon = early.sessions.filter(pl.col("calendar") == "XLON").get_column("date")
    start, end = calendars.CALENDAR_WINDOW
    assert xlon.equals(calendars.business_days("XLON", start, end), check_names=False)
    assert dt.date(2024, 3, 29) not in xlon.to_list() and dt.date(2024, 4, 2) in xlon.to_list()  # Good Friday, Easter Monday
    # Past the window's end the sessions reach SESSIONS_AFTER_DATA_DAYS beyond the data (fallback weekdays).
    far = calendars.with_exchange_sessions(market(dt.date(2036, 3, 3)))
    assert far.sessions.get_column("date").max() == dt.date(2037, 4, 7)  # 2036-03-03 + 400 days, a Tuesday
    # The sessions enter the daily state's reference fingerprint: another calendar, another state.
    assert reference_fingerprint(early) == reference_fingerprint(later)
    fewer = replace(early, sessions=early.sessions.filter(pl.col("date") != dt.date(2024, 4, 2)))
    assert reference_fingerprint(fewer) != reference_fingerprint(early)
