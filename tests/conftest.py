"""Shared fixtures: paths to the project's data and to the real data beside the project."""

from __future__ import annotations

from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT.parent / "shared" / "data"
PYSYSTEMTRADE_DIR = SHARED_DATA / "pysystemtrade"


@pytest.fixture(scope="session", autouse=True)
def session_cache_dir(tmp_path_factory):
    """The exchange-session cache of :mod:`indexcalc.data.calendars` in a temporary folder for
    the whole session (also for the CLI subprocesses, which inherit the environment), and the
    XDG cache and config folders too (headless Chromium's cache, matplotlib's font list): tests
    write only under temporary folders, never into ``~/.cache`` or ``~/.config``."""
    from indexcalc.data.calendars import CACHE_ENVIRONMENT

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_ENVIRONMENT, str(tmp_path_factory.mktemp("indexcalc-cache")))
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
        patch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg-config")))
        yield


@pytest.fixture(scope="session")
def pysystemtrade_dir() -> Path:
    """The shared pysystemtrade folder; tests using it skip cleanly where it is absent."""
    if not (PYSYSTEMTRADE_DIR / "multiple_prices_csv").is_dir():
        pytest.skip(f"real data not found at {PYSYSTEMTRADE_DIR}")
    return PYSYSTEMTRADE_DIR


@pytest.fixture(scope="session")
def shared_real_dir() -> Path:
    path = SHARED_DATA / "real"
    if not path.is_dir():
        pytest.skip(f"real data not found at {path}")
    return path


@pytest.fixture(scope="session")
def embedded_market():
    """The embedded SYNTHETIC market (``data/market``), loaded once per session."""
    from indexcalc.data.embedded import load_default_market

    return load_default_market()


@pytest.fixture(scope="session")
def embedded_series(embedded_market):
    """The embedded market's linked series (window roll), built once per session."""
    from indexcalc.series import build_series

    return build_series(embedded_market)


@pytest.fixture(scope="session")
def pysystemtrade_market(pysystemtrade_dir):
    """The shared pysystemtrade folder as a market (skips where absent)."""
    from indexcalc.data.pysystemtrade import read_pysystemtrade

    return read_pysystemtrade(pysystemtrade_dir)


@pytest.fixture(scope="session")
def pysystemtrade_series(pysystemtrade_market):
    """pysystemtrade series (data roll; the files' few unpriced held contracts carried forward)."""
    from indexcalc.series import build_series
    from indexcalc.specs import DataRoll

    return build_series(pysystemtrade_market, DataRoll(), disruption="carry_forward")
