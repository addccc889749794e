"""The exchange-session cache of indexcalc.data.calendars: what is read back from disk is what
exchange_calendars computed, a damaged file is recomputed, and the cache can be turned off."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from indexcalc.data import calendars


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(calendars.CACHE_ENVIRONMENT, str(tmp_path))
    calendars._cached_sessions.cache_clear()
    yield tmp_path
    calendars._cached_sessions.cache_clear()


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
